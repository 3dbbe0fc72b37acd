//! Actions and Rules as configuration: create (after the engine compiles the code), update,
//! deploy or enable, order; their secrets sealed with the master key.

use super::*;
use crate::{
    OAuthError,
    context::{
        Ctx,
        scripts::{aad, secrets},
    },
    hooks::{ClaimsHook, accepted_claims},
    keys::KeyRing,
    model::{Script, ScriptKind, Trigger},
    scripts,
};

fn invalid(e: impl Into<String>) -> ManageError {
    ManageError::invalid(e)
}

fn seal(master: &MasterKey, s: &mut Script, secrets: &Map<String, Value>) {
    s.secrets_enc = (!secrets.is_empty()).then(|| {
        master.encrypt_to_base64(
            Value::Object(secrets.clone()).to_string().as_bytes(),
            &aad(&s.tenant_id, &s.id),
        )
    });
}

/// A script by id or by name within its kind.
pub(crate) async fn find_script(
    store: &dyn Store,
    tenant: &str,
    kind: ScriptKind,
    id_or_name: &str,
) -> ManageResult<Script> {
    if let Some(s) = store
        .script(tenant, id_or_name)
        .await?
        .filter(|s| s.kind == kind)
    {
        return Ok(s);
    }
    store
        .script_by_name(tenant, kind, id_or_name)
        .await?
        .ok_or_else(|| {
            ManageError::NotFound(format!(
                "no {} with id or name '{id_or_name}'",
                kind.as_str()
            ))
        })
}

/// What the operator gives for a new or changed script.
#[derive(Debug, Default, Clone)]
pub struct ScriptSpec {
    pub name: Option<String>,
    pub trigger: Option<String>,
    pub code: Option<String>,
    /// Secrets to set (`KEY=VALUE`); merged into the existing ones.
    pub secrets: Vec<(String, String)>,
    pub order: Option<i64>,
}

impl Manager<'_> {
    /// Creates a script after `check` (the engine's compiler) accepts it. Rules are enabled at
    /// once; actions wait for `deploy`, as on Auth0.
    pub async fn create_script(
        &self,
        kind: ScriptKind,
        spec: &ScriptSpec,
        check: &(dyn Fn(ScriptKind, &str) -> Result<(), String> + Sync),
    ) -> ManageResult<Script> {
        self.actor.require(&[script_scope(kind, "create")])?;
        let store = self.store;
        let master = self.master;
        let clock = self.clock;
        let tenant = self.tenant;
        let name = spec
            .name
            .as_deref()
            .ok_or_else(|| ManageError::required("name"))?;
        validate::name(name).map_err(|e| ManageError::field("name", e))?;
        let code = spec
            .code
            .as_deref()
            .ok_or_else(|| ManageError::required("code"))?;
        let trigger = match (kind, spec.trigger.as_deref()) {
            (ScriptKind::Rule, _) => None,
            (ScriptKind::Action, Some(t)) => Some(Trigger::parse(t).ok_or_else(|| {
                invalid(format!(
                    "unknown trigger '{t}': use post-login or credentials-exchange"
                ))
            })?),
            (ScriptKind::Action, None) => return Err(ManageError::required("trigger")),
        };
        check(kind, code).map_err(|e| invalid(format!("the script does not compile: {e}")))?;
        let existing = store.scripts(tenant, kind).await?;
        let order = spec
            .order
            .unwrap_or_else(|| existing.iter().map(|s| s.order).max().unwrap_or(0) + 1);
        let now = clock.now();
        let mut s = Script {
            tenant_id: tenant.to_owned(),
            id: Script::new_id(kind),
            kind,
            name: name.trim().to_owned(),
            trigger,
            code: code.to_owned(),
            secrets_enc: None,
            enabled: kind == ScriptKind::Rule,
            order,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let secrets: Map<String, Value> = spec
            .secrets
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        seal(master, &mut s, &secrets);
        store.insert_script(&s).await.map_err(|e| match e {
            crate::StoreError::Conflict(_) => ManageError::Conflict(format!(
                "a {} named '{}' already exists",
                kind.as_str(),
                s.name
            )),
            e => e.into(),
        })?;
        Ok(s)
    }
    /// Changes a script (found with [`find_script`]): code, name, order or secrets. New code is compiled first; an action
    /// with new code must be deployed again.
    pub async fn update_script(
        &self,
        found: Script,
        spec: &ScriptSpec,
        check: &(dyn Fn(ScriptKind, &str) -> Result<(), String> + Sync),
    ) -> ManageResult<Script> {
        self.actor.require(&[script_scope(found.kind, "update")])?;
        let store = self.store;
        let master = self.master;
        let clock = self.clock;
        let found = &found;
        retry_stale(move || async move {
            // Each try changes the script as stored now.
            let mut s = store
                .script(&found.tenant_id, &found.id)
                .await?
                .ok_or_else(|| {
                    ManageError::NotFound(format!("{} {}", found.kind.as_str(), found.name))
                })?;
            let kind = s.kind;
            if let Some(n) = &spec.name {
                validate::name(n).map_err(|e| ManageError::field("name", e))?;
                s.name = n.trim().to_owned();
            }
            if let Some(code) = &spec.code {
                check(kind, code)
                    .map_err(|e| invalid(format!("the script does not compile: {e}")))?;
                s.code = code.clone();
                if kind == ScriptKind::Action {
                    s.enabled = false;
                }
            }
            if let Some(o) = spec.order {
                s.order = o;
            }
            if !spec.secrets.is_empty() {
                let mut all = secrets(master, &s).map_err(invalid)?;
                for (k, v) in &spec.secrets {
                    all.insert(k.clone(), Value::String(v.clone()));
                }
                seal(master, &mut s, &all);
            }
            s.updated_at = clock.now();
            store.update_script(&s).await?;
            s.version += 1;
            Ok(s)
        })
        .await
    }
    /// Deploys (actions) or enables (rules); or the reverse.
    pub async fn set_enabled(
        &self,
        kind: ScriptKind,
        id_or_name: &str,
        enabled: bool,
    ) -> ManageResult<Script> {
        self.actor.require(&[script_scope(kind, "update")])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
            let mut s = find_script(store, tenant, kind, id_or_name).await?;
            s.enabled = enabled;
            s.updated_at = clock.now();
            store.update_script(&s).await?;
            s.version += 1;
            Ok(s)
        })
        .await
    }
    /// Sets the run order of a trigger's actions: the named ones first, in the given order.
    pub async fn order_actions(
        &self,
        trigger: &str,
        names: &[String],
    ) -> ManageResult<Vec<Script>> {
        self.actor.require(&["update:actions"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
            let trigger = Trigger::parse(trigger)
                .ok_or_else(|| invalid(format!("unknown trigger '{trigger}'")))?;
            let mut ordered = Vec::new();
            for n in names {
                let s = find_script(store, tenant, ScriptKind::Action, n).await?;
                if s.trigger != Some(trigger) {
                    return Err(invalid(format!(
                        "the action '{}' is not for the {} trigger",
                        s.name,
                        trigger.as_str()
                    )));
                }
                ordered.push(s);
            }
            let rest: Vec<Script> = store
                .scripts(tenant, ScriptKind::Action)
                .await?
                .into_iter()
                .filter(|s| s.trigger == Some(trigger) && !ordered.iter().any(|o| o.id == s.id))
                .collect();
            let mut out = Vec::new();
            for (i, mut s) in ordered.into_iter().chain(rest).enumerate() {
                s.order = i as i64 + 1;
                s.updated_at = clock.now();
                store.update_script(&s).await?;
                s.version += 1;
                out.push(s);
            }
            Ok(out)
        })
        .await
    }
}

/// The scope an operation on scripts of `kind` needs: `read:actions`, `create:rules`, ….
fn script_scope(kind: ScriptKind, verb: &str) -> &'static str {
    match (kind, verb) {
        (ScriptKind::Action, "read") => "read:actions",
        (ScriptKind::Action, "create") => "create:actions",
        (ScriptKind::Action, "delete") => "delete:actions",
        (ScriptKind::Action, _) => "update:actions",
        (ScriptKind::Rule, "read") => "read:rules",
        (ScriptKind::Rule, "create") => "create:rules",
        (ScriptKind::Rule, "delete") => "delete:rules",
        (ScriptKind::Rule, _) => "update:rules",
    }
}

impl Manager<'_> {
    /// A script of `kind` by id or name.
    pub async fn get_script(&self, kind: ScriptKind, id_or_name: &str) -> ManageResult<Script> {
        self.actor.require(&[script_scope(kind, "read")])?;
        find_script(self.store, self.tenant, kind, id_or_name).await
    }

    pub async fn list_scripts(&self, kind: ScriptKind) -> ManageResult<Vec<Script>> {
        self.actor.require(&[script_scope(kind, "read")])?;
        Ok(self.store.scripts(self.tenant, kind).await?)
    }

    /// Deletes a script of `kind` (by id or name); returns it.
    pub async fn delete_script(&self, kind: ScriptKind, id_or_name: &str) -> ManageResult<Script> {
        self.actor.require(&[script_scope(kind, "delete")])?;
        let s = find_script(self.store, self.tenant, kind, id_or_name).await?;
        self.store.delete_script(self.tenant, &s.id).await?;
        Ok(s)
    }

    /// The names of a script's secrets (never their values).
    pub fn secret_names(&self, s: &Script) -> ManageResult<Vec<String>> {
        self.actor.require(&[script_scope(s.kind, "read")])?;
        Ok(secrets(self.master, s)
            .map_err(ManageError::Failed)?
            .keys()
            .cloned()
            .collect())
    }
}

impl Manager<'_> {
    /// Runs one script, deployed or not, for a user (post-login) or an API (credentials
    /// exchange) without signing anything or storing anything, and tells what a token would
    /// get: the claims accepted and dropped, scope changes, a denial, metadata changes.
    pub async fn test_script(
        &self,
        hooks: &dyn ClaimsHook,
        kind: ScriptKind,
        id_or_name: &str,
        run: &DryRun<'_>,
    ) -> ManageResult<Value> {
        self.actor.require(&[script_scope(kind, "read")])?;
        let s = find_script(self.store, self.tenant, kind, id_or_name).await?;
        let tenant = self
            .store
            .tenant(self.tenant)
            .await?
            .ok_or_else(|| ManageError::NotFound(format!("tenant {}", self.tenant)))?;
        let keys = KeyRing::load(&[], self.master, self.clock.now())?;
        let ctx = Ctx {
            store: self.store,
            clock: self.clock,
            keys: &keys,
            master: self.master,
            tenant: &tenant,
            hooks: Some(hooks),
            request: Default::default(),
            scripts: None,
            config: None,
        };
        let client = find_app(self.store, self.tenant, run.client_id).await?;
        let api = match run.audience {
            Some(a) => Some(find_api(self.store, self.tenant, a).await?),
            None => None,
        };
        let failed = |e: OAuthError| ManageError::Failed(format!("{}: {}", e.code, e.description));
        let script = scripts::hook_script(self.master, &s).map_err(failed)?;
        let out = match s.trigger {
            Some(Trigger::CredentialsExchange) => {
                let api = api.as_ref().ok_or_else(|| {
                    invalid("a credentials-exchange action needs an audience (--audience)")
                })?;
                scripts::credentials_exchange_with(&ctx, vec![script].into(), &client, api, &[])
                    .await
                    .map_err(failed)?
            }
            _ => {
                let who = run
                    .user
                    .ok_or_else(|| invalid("a post-login action needs a user (--user EMAIL)"))?;
                let u = find_user(self.store, self.tenant, who).await?;
                scripts::post_login_with(
                    &ctx,
                    vec![script].into(),
                    &client,
                    &u,
                    api.as_ref(),
                    &["openid".into(), "profile".into(), "email".into()],
                    "oidc-basic-profile",
                )
                .await
                .map_err(failed)?
            }
        };
        let access = if api.is_some() {
            accepted_claims(&out.access_claims, true)
        } else {
            Map::new()
        };
        let id = accepted_claims(&out.id_claims, false);
        let dropped: Vec<String> = out
            .access_claims
            .iter()
            .filter(|c| !access.contains_key(&c.name))
            .map(|c| format!("access token: {}", c.name))
            .chain(
                out.id_claims
                    .iter()
                    .filter(|c| !id.contains_key(&c.name))
                    .map(|c| format!("ID token: {}", c.name)),
            )
            .collect();
        Ok(serde_json::json!({
            "access_token_claims": access,
            "id_token_claims": id,
            "dropped_claims": dropped,
            "added_scopes": out.add_scopes,
            "removed_scopes": out.remove_scopes,
            "denied": out.deny.map(|d| d.reason),
            "app_metadata_changes": out.app_metadata,
            "user_metadata_changes": out.user_metadata,
        }))
    }
}

/// Who and what a dry run is for.
#[derive(Debug, Default, Clone, Copy)]
pub struct DryRun<'a> {
    /// A post-login script's user, by id or email.
    pub user: Option<&'a str>,
    pub client_id: &'a str,
    /// The API a token would be for.
    pub audience: Option<&'a str>,
}
