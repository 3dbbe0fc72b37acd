//! Trigger bindings (Auth0's `/actions/triggers/{trigger}/bindings`): which deployed actions a
//! trigger runs, in order. Tessera's actions are bound by being deployed; the order is theirs.

use super::*;
use crate::model::{Script, ScriptKind, Trigger};

/// An action named in a binding: by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionRef {
    Id(String),
    Name(String),
}

fn trigger_of(id: &str) -> ManageResult<Trigger> {
    Trigger::parse(id).ok_or_else(|| {
        ManageError::NotFound(format!(
            "no trigger '{}': Tessera runs post-login and credentials-exchange",
            id.escape_default()
        ))
    })
}

impl Manager<'_> {
    /// The deployed actions a trigger runs, in order.
    pub async fn bindings(&self, trigger: &str) -> ManageResult<Vec<Script>> {
        self.actor.require(&["read:actions"])?;
        let t = trigger_of(trigger)?;
        let mut bound: Vec<Script> = self
            .store
            .scripts(self.tenant, ScriptKind::Action)
            .await?
            .into_iter()
            .filter(|s| s.trigger == Some(t) && s.enabled)
            .collect();
        bound.sort_by_key(|s| s.order);
        Ok(bound)
    }

    /// Makes exactly `refs` the trigger's bound actions, in that order: each is deployed, the
    /// trigger's other actions are undeployed.
    pub async fn set_bindings(
        &self,
        trigger: &str,
        refs: &[ActionRef],
    ) -> ManageResult<Vec<Script>> {
        self.actor.require(&["update:actions"])?;
        let t = trigger_of(trigger)?;
        let mut names = Vec::with_capacity(refs.len());
        for r in refs {
            let s = match r {
                ActionRef::Id(id) => self.store.script(self.tenant, id).await?,
                ActionRef::Name(n) => {
                    self.store
                        .script_by_name(self.tenant, ScriptKind::Action, n)
                        .await?
                }
            }
            .filter(|s| s.kind == ScriptKind::Action)
            .ok_or_else(|| {
                ManageError::NotFound(format!(
                    "no action {}",
                    match r {
                        ActionRef::Id(v) | ActionRef::Name(v) => v,
                    }
                ))
            })?;
            if s.trigger != Some(t) {
                return Err(ManageError::field(
                    "bindings",
                    format!(
                        "the action '{}' is not for the {} trigger",
                        s.name,
                        t.as_str()
                    ),
                ));
            }
            names.push(s.name);
        }
        let ordered = self.order_actions(t.as_str(), &names).await?;
        for s in ordered {
            let wanted = names.contains(&s.name);
            if s.enabled != wanted {
                self.set_enabled(ScriptKind::Action, &s.id, wanted).await?;
            }
        }
        self.bindings(trigger).await
    }
}
