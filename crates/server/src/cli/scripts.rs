//! `tessera actions …` and `tessera rules …`: Auth0-style Actions (post-login,
//! credentials-exchange) and legacy Rules. Scripts are compiled before they are stored, so a
//! syntax error is refused with its line and column. `actions test` runs one action for a user
//! and an application without anyone logging in, and prints what the tokens would carry.

use std::io::Read;

use clap::Subcommand;
use serde_json::Value;
use tessera_core::{
    hooks::ClaimsHook,
    manage::{DryRun, Manager, ScriptSpec},
    model::{Script, ScriptKind},
};

use super::{CliError, CliResult, output::Out};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum ActionsCmd {
    /// Create an action (deploy it to make it run)
    Create {
        #[arg(long)]
        name: String,
        /// post-login or credentials-exchange
        #[arg(long)]
        trigger: String,
        /// The script; - reads standard input
        #[arg(long)]
        file: String,
        /// A secret the script reads as event.secrets.KEY (repeatable)
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secrets: Vec<String>,
        /// Deploy at once
        #[arg(long)]
        deploy: bool,
    },
    /// List actions in run order
    List,
    /// Show an action (by id or name)
    Show { action: String },
    /// Change an action's code, name or secrets (new code must be deployed again)
    Update {
        action: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        file: Option<String>,
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secrets: Vec<String>,
    },
    /// Delete an action
    Delete { action: String },
    /// Deploy an action: it runs from now on
    Deploy { action: String },
    /// Stop running an action (it is kept)
    Undeploy { action: String },
    /// Set the run order of a trigger's actions
    Order {
        trigger: String,
        #[arg(required = true)]
        actions: Vec<String>,
    },
    /// Run an action for a user and an application without logging in; print the claims
    Test {
        action: String,
        /// The user's email or id (post-login)
        #[arg(long)]
        user: Option<String>,
        /// The application's client_id
        #[arg(long)]
        client: String,
        /// The API the token would be for
        #[arg(long)]
        audience: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum RulesCmd {
    /// Create a rule (enabled; rules run in order, before actions)
    Create {
        #[arg(long)]
        name: String,
        /// The rule, `function (user, context, callback) {…}`; - reads standard input
        #[arg(long)]
        file: String,
        #[arg(long)]
        order: Option<i64>,
        /// A value the rule reads as configuration.KEY (repeatable)
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secrets: Vec<String>,
    },
    /// List rules in run order
    List,
    /// Show a rule (by id or name)
    Show { rule: String },
    /// Change a rule's code, name, order or configuration
    Update {
        rule: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        file: Option<String>,
        #[arg(long)]
        order: Option<i64>,
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secrets: Vec<String>,
    },
    /// Delete a rule
    Delete { rule: String },
    /// Enable a rule
    Enable { rule: String },
    /// Disable a rule
    Disable { rule: String },
}

fn read_file(path: &str) -> Result<String, CliError> {
    let mut s = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut s).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| s = t)
    };
    read.map_err(|e| CliError::usage(format!("cannot read {path}: {e}")))?;
    Ok(s)
}

fn parse_secrets(list: &[String]) -> Result<Vec<(String, String)>, CliError> {
    list.iter()
        .map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| CliError::usage(format!("--secret {kv}: write KEY=VALUE")))
        })
        .collect()
}

fn show(m: &Manager<'_>, s: &Script) -> Result<Value, CliError> {
    Ok(s.management_json(&m.secret_names(s)?))
}

fn list(m: &Manager<'_>, out: &Out, all: &[Script]) -> CliResult {
    let items = all
        .iter()
        .map(|s| show(m, s))
        .collect::<Result<Vec<_>, _>>()?;
    let cols: &[&str] = match all.first().map(|s| s.kind) {
        Some(ScriptKind::Action) => &["id", "name", "order", "status"],
        _ => &["id", "name", "order", "enabled"],
    };
    out.list(&items, cols);
    Ok(())
}

pub async fn run_actions(i: &Install, out: &Out, cmd: ActionsCmd) -> CliResult {
    let m = i.manager();
    let engine = tessera_actions::Engine::default();
    let check = |k: ScriptKind, c: &str| engine.check(k, c);
    let kind = ScriptKind::Action;
    match cmd {
        ActionsCmd::Create {
            name,
            trigger,
            file,
            secrets,
            deploy,
        } => {
            let spec = ScriptSpec {
                name: Some(name),
                trigger: Some(trigger),
                code: Some(read_file(&file)?),
                secrets: parse_secrets(&secrets)?,
                order: None,
            };
            let mut s = m.create_script(kind, &spec, &check).await?;
            if deploy {
                s = m.set_enabled(kind, &s.id, true).await?;
            }
            out.object(&show(&m, &s)?);
        }
        ActionsCmd::List => list(&m, out, &m.list_scripts(kind).await?)?,
        ActionsCmd::Show { action } => out.object(&show(&m, &m.get_script(kind, &action).await?)?),
        ActionsCmd::Update {
            action,
            name,
            file,
            secrets,
        } => {
            let spec = ScriptSpec {
                name,
                trigger: None,
                code: file.as_deref().map(read_file).transpose()?,
                secrets: parse_secrets(&secrets)?,
                order: None,
            };
            let s = m
                .update_script(m.get_script(kind, &action).await?, &spec, &check)
                .await?;
            out.object(&show(&m, &s)?);
        }
        ActionsCmd::Delete { action } => {
            let s = m.delete_script(kind, &action).await?;
            out.note(&format!("deleted action {}", s.name));
        }
        ActionsCmd::Deploy { action } => {
            let s = m.set_enabled(kind, &action, true).await?;
            out.object(&show(&m, &s)?);
        }
        ActionsCmd::Undeploy { action } => {
            let s = m.set_enabled(kind, &action, false).await?;
            out.object(&show(&m, &s)?);
        }
        ActionsCmd::Order { trigger, actions } => {
            let all = m.order_actions(&trigger, &actions).await?;
            list(&m, out, &all)?;
        }
        ActionsCmd::Test {
            action,
            user,
            client,
            audience,
        } => {
            let run = DryRun {
                user: user.as_deref(),
                client_id: &client,
                audience: audience.as_deref(),
            };
            let result = m.test_script(&engine, kind, &action, &run).await?;
            out.object(&result);
        }
    }
    Ok(())
}

pub async fn run_rules(i: &Install, out: &Out, cmd: RulesCmd) -> CliResult {
    let m = i.manager();
    let engine = tessera_actions::Engine::default();
    let check = |k: ScriptKind, c: &str| engine.check(k, c);
    let kind = ScriptKind::Rule;
    match cmd {
        RulesCmd::Create {
            name,
            file,
            order,
            secrets,
        } => {
            let spec = ScriptSpec {
                name: Some(name),
                trigger: None,
                code: Some(read_file(&file)?),
                secrets: parse_secrets(&secrets)?,
                order,
            };
            let s = m.create_script(kind, &spec, &check).await?;
            out.object(&show(&m, &s)?);
        }
        RulesCmd::List => list(&m, out, &m.list_scripts(kind).await?)?,
        RulesCmd::Show { rule } => out.object(&show(&m, &m.get_script(kind, &rule).await?)?),
        RulesCmd::Update {
            rule,
            name,
            file,
            order,
            secrets,
        } => {
            let spec = ScriptSpec {
                name,
                trigger: None,
                code: file.as_deref().map(read_file).transpose()?,
                secrets: parse_secrets(&secrets)?,
                order,
            };
            let s = m
                .update_script(m.get_script(kind, &rule).await?, &spec, &check)
                .await?;
            out.object(&show(&m, &s)?);
        }
        RulesCmd::Delete { rule } => {
            let s = m.delete_script(kind, &rule).await?;
            out.note(&format!("deleted rule {}", s.name));
        }
        RulesCmd::Enable { rule } => {
            let s = m.set_enabled(kind, &rule, true).await?;
            out.object(&show(&m, &s)?);
        }
        RulesCmd::Disable { rule } => {
            let s = m.set_enabled(kind, &rule, false).await?;
            out.object(&show(&m, &s)?);
        }
    }
    Ok(())
}
