//! `tessera actions …` and `tessera rules …`: Auth0-style Actions (post-login,
//! credentials-exchange) and legacy Rules. Scripts are compiled before they are stored, so a
//! syntax error is refused with its line and column. `actions test` runs one action for a user
//! and an application without anyone logging in, and prints what the tokens would carry.

use std::io::Read;

use clap::Subcommand;
use serde_json::{Map, Value, json};
use tessera_core::{
    OAuthError,
    context::Ctx,
    hooks::{ClaimsHook, accepted_claims},
    keys::KeyRing,
    manage,
    manage::ScriptSpec,
    model::{Script, ScriptKind, Trigger},
    scripts,
    store::Store,
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

fn show(i: &Install, s: &Script) -> Result<Value, CliError> {
    let names: Vec<String> = tessera_core::context::scripts::secrets(&i.master, s)
        .map_err(CliError::failure)?
        .keys()
        .cloned()
        .collect();
    Ok(s.management_json(&names))
}

fn list(i: &Install, out: &Out, all: &[Script]) -> CliResult {
    let items = all
        .iter()
        .map(|s| show(i, s))
        .collect::<Result<Vec<_>, _>>()?;
    let cols: &[&str] = match all.first().map(|s| s.kind) {
        Some(ScriptKind::Action) => &["id", "name", "order", "status"],
        _ => &["id", "name", "order", "enabled"],
    };
    out.list(&items, cols);
    Ok(())
}

pub async fn run_actions(i: &Install, out: &Out, cmd: ActionsCmd) -> CliResult {
    let (store, clock, t) = (i.store.as_ref(), i.clock.as_ref(), i.tenant.id.as_str());
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
            let mut s =
                manage::create_script(store, &i.master, clock, t, kind, &spec, &check).await?;
            if deploy {
                s = manage::set_enabled(store, clock, t, kind, &s.id, true).await?;
            }
            out.object(&show(i, &s)?);
        }
        ActionsCmd::List => list(i, out, &store.scripts(t, kind).await?)?,
        ActionsCmd::Show { action } => out.object(&show(
            i,
            &manage::find_script(store, t, kind, &action).await?,
        )?),
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
            let s = manage::update_script(
                store,
                &i.master,
                clock,
                manage::find_script(store, t, kind, &action).await?,
                &spec,
                &check,
            )
            .await?;
            out.object(&show(i, &s)?);
        }
        ActionsCmd::Delete { action } => {
            let s = manage::find_script(store, t, kind, &action).await?;
            store.delete_script(t, &s.id).await?;
            out.note(&format!("deleted action {}", s.name));
        }
        ActionsCmd::Deploy { action } => {
            let s = manage::set_enabled(store, clock, t, kind, &action, true).await?;
            out.object(&show(i, &s)?);
        }
        ActionsCmd::Undeploy { action } => {
            let s = manage::set_enabled(store, clock, t, kind, &action, false).await?;
            out.object(&show(i, &s)?);
        }
        ActionsCmd::Order { trigger, actions } => {
            let all = manage::order_actions(store, clock, t, &trigger, &actions).await?;
            list(i, out, &all)?;
        }
        ActionsCmd::Test {
            action,
            user,
            client,
            audience,
        } => {
            let s = manage::find_script(store, t, kind, &action).await?;
            let result = dry_run(
                i,
                &engine,
                &s,
                user.as_deref(),
                &client,
                audience.as_deref(),
            )
            .await
            .map_err(|e| {
                let msg = format!("{}: {}", e.code, e.description);
                if e.code == tessera_core::ErrorCode::InvalidRequest {
                    CliError::usage(msg)
                } else {
                    CliError::failure(msg)
                }
            })?;
            out.object(&result);
        }
    }
    Ok(())
}

/// Runs one action as its trigger would and shows the claims the tokens would get.
async fn dry_run(
    i: &Install,
    engine: &tessera_actions::Engine,
    s: &Script,
    user: Option<&str>,
    client_id: &str,
    audience: Option<&str>,
) -> Result<Value, OAuthError> {
    let store: &dyn Store = i.store.as_ref();
    let t = &i.tenant.id;
    let keys = KeyRing::load(&[], &i.master, i.clock.now()).map_err(OAuthError::server_error)?;
    let ctx = Ctx {
        store,
        clock: i.clock.as_ref(),
        keys: &keys,
        master: &i.master,
        tenant: &i.tenant,
        hooks: Some(engine),
        request: Default::default(),
        scripts: None,
        config: None,
    };
    let admin_err = |e: manage::ManageError| OAuthError::invalid_request(e.to_string());
    let client = manage::find_app(store, t, client_id)
        .await
        .map_err(admin_err)?;
    let api = match audience {
        Some(a) => Some(manage::find_api(store, t, a).await.map_err(admin_err)?),
        None => None,
    };
    let script = scripts::hook_script(&i.master, s)?;
    let out = match s.trigger {
        Some(Trigger::CredentialsExchange) => {
            let api = api.as_ref().ok_or_else(|| {
                OAuthError::invalid_request("a credentials-exchange action needs --audience")
            })?;
            scripts::credentials_exchange_with(&ctx, vec![script].into(), &client, api, &[]).await?
        }
        _ => {
            let who = user.ok_or_else(|| {
                OAuthError::invalid_request("a post-login action needs --user EMAIL")
            })?;
            let u = manage::find_user(store, t, who).await.map_err(admin_err)?;
            scripts::post_login_with(
                &ctx,
                vec![script].into(),
                &client,
                &u,
                api.as_ref(),
                &["openid".into(), "profile".into(), "email".into()],
                "oidc-basic-profile",
            )
            .await?
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
    Ok(json!({
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

pub async fn run_rules(i: &Install, out: &Out, cmd: RulesCmd) -> CliResult {
    let (store, clock, t) = (i.store.as_ref(), i.clock.as_ref(), i.tenant.id.as_str());
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
            let s = manage::create_script(store, &i.master, clock, t, kind, &spec, &check).await?;
            out.object(&show(i, &s)?);
        }
        RulesCmd::List => list(i, out, &store.scripts(t, kind).await?)?,
        RulesCmd::Show { rule } => out.object(&show(
            i,
            &manage::find_script(store, t, kind, &rule).await?,
        )?),
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
            let s = manage::update_script(
                store,
                &i.master,
                clock,
                manage::find_script(store, t, kind, &rule).await?,
                &spec,
                &check,
            )
            .await?;
            out.object(&show(i, &s)?);
        }
        RulesCmd::Delete { rule } => {
            let s = manage::find_script(store, t, kind, &rule).await?;
            store.delete_script(t, &s.id).await?;
            out.note(&format!("deleted rule {}", s.name));
        }
        RulesCmd::Enable { rule } => {
            let s = manage::set_enabled(store, clock, t, kind, &rule, true).await?;
            out.object(&show(i, &s)?);
        }
        RulesCmd::Disable { rule } => {
            let s = manage::set_enabled(store, clock, t, kind, &rule, false).await?;
            out.object(&show(i, &s)?);
        }
    }
    Ok(())
}
