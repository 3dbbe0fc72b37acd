//! `tessera apps create|list|show|update|delete|rotate-secret|grant|grants|ungrant`.

use clap::{Args, Subcommand};
use serde_json::Value;
use tessera_core::{
    manage::{self, AppSpec},
    model::Client,
    secret::Secret,
};

use super::{CliResult, output::Out, split_list};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum AppsCmd {
    /// Create an application; a confidential one's client_secret is printed once
    Create(AppArgs),
    /// List applications
    List,
    /// Show an application
    Show { client_id: String },
    /// Change an application
    Update {
        client_id: String,
        #[command(flatten)]
        args: AppArgs,
    },
    /// Delete an application and its grants
    Delete { client_id: String },
    /// Replace the client secret (the old one stops working within a second)
    RotateSecret { client_id: String },
    /// Allow an application to get tokens for an API (client credentials), with scopes
    Grant {
        client_id: String,
        /// The API identifier
        #[arg(long)]
        audience: String,
        /// Scopes, comma-separated; each must be defined by the API
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// List an application's grants
    Grants { client_id: String },
    /// Remove an application's grant for an API
    Ungrant {
        client_id: String,
        #[arg(long)]
        audience: String,
    },
}

#[derive(Args)]
pub struct AppArgs {
    #[arg(long)]
    name: Option<String>,
    /// spa, native, regular or m2m
    #[arg(long = "type")]
    app_type: Option<String>,
    /// Allowed callback URLs, comma-separated (replaces the list; see --add-callback)
    #[arg(long, value_delimiter = ',')]
    callbacks: Option<Vec<String>>,
    /// Add one allowed callback URL, keeping the others (repeatable)
    #[arg(long = "add-callback")]
    add_callbacks: Vec<String>,
    /// Allowed logout URLs, comma-separated (replaces the list; see --add-logout-url)
    #[arg(long, value_delimiter = ',')]
    logout_urls: Option<Vec<String>>,
    /// Add one allowed logout URL, keeping the others (repeatable)
    #[arg(long = "add-logout-url")]
    add_logout_urls: Vec<String>,
    /// Allowed web origins, comma-separated
    #[arg(long, value_delimiter = ',')]
    web_origins: Option<Vec<String>>,
    /// Grant types, comma-separated (default depends on the type)
    #[arg(long, value_delimiter = ',')]
    grant_types: Option<Vec<String>>,
    /// none, client_secret_post or client_secret_basic
    #[arg(long)]
    auth_method: Option<String>,
    /// Legacy (non OIDC-conformant) application
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    legacy: Option<bool>,
    /// Also accept PKCE code_challenge_method=plain (S256 is always accepted)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    allow_pkce_plain: Option<bool>,
    /// Disable the application: no sign-in, no tokens (not even from refresh tokens it holds),
    /// no userinfo for its access tokens. `--disabled false` enables it again
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    disabled: Option<bool>,
    /// Accept the secret only by the registered --auth-method (by default an application with a
    /// secret may send it by HTTP Basic or in the body)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    strict_auth_method: Option<bool>,
}

impl AppArgs {
    fn spec(&self) -> AppSpec {
        AppSpec {
            name: self.name.clone(),
            app_type: self.app_type.clone(),
            callbacks: self.callbacks.as_ref().map(|l| split_list(l)),
            logout_urls: self.logout_urls.as_ref().map(|l| split_list(l)),
            web_origins: self.web_origins.as_ref().map(|l| split_list(l)),
            grant_types: self.grant_types.as_ref().map(|l| split_list(l)),
            auth_method: self.auth_method.clone(),
            legacy: self.legacy,
            allow_pkce_plain: self.allow_pkce_plain,
            disabled: self.disabled,
            strict_auth_method: self.strict_auth_method,
            add_callbacks: self.add_callbacks.clone(),
            add_logout_urls: self.add_logout_urls.clone(),
        }
    }
}

fn with_secret(c: &Client, secret: Option<&Secret>) -> Value {
    let mut v = c.management_json();
    if let Some(s) = secret {
        v["client_secret"] = Value::String(s.expose().to_owned());
    }
    v
}

pub async fn run(i: &Install, out: &Out, cmd: AppsCmd) -> CliResult {
    let m = i.manager();
    match cmd {
        AppsCmd::Create(args) => {
            let (c, secret) = m.create_app(&args.spec()).await?;
            out.object(&with_secret(&c, secret.as_ref()));
            if secret.is_some() {
                out.note("The client_secret is shown only now; only its hash is stored.");
            }
        }
        AppsCmd::List => {
            let all: Vec<Value> = m
                .list_apps()
                .await?
                .iter()
                .map(|c| c.management_json())
                .collect();
            out.list(&all, &["client_id", "name", "app_type", "grant_types"]);
        }
        AppsCmd::Show { client_id } => out.object(&m.get_app(&client_id).await?.management_json()),
        AppsCmd::Update { client_id, args } => {
            let (c, secret) = m.update_app(&client_id, &args.spec()).await?;
            out.object(&with_secret(&c, secret.as_ref()));
        }
        AppsCmd::Delete { client_id } => {
            m.delete_app(&client_id).await?;
            out.note(&format!("deleted application {client_id}"));
        }
        AppsCmd::RotateSecret { client_id } => {
            let (c, secret) = m.rotate_app_secret(&client_id).await?;
            out.object(&with_secret(&c, Some(&secret)));
            out.note("The new client_secret is shown only now; the old one no longer works.");
        }
        AppsCmd::Grant {
            client_id,
            audience,
            scopes,
        } => {
            let g = m
                .grant_app(&client_id, &audience, &split_list(&scopes))
                .await?;
            if let Some(w) = manage::grant_warning(&m.get_app(&client_id).await?) {
                eprintln!("{w}");
            }
            out.object(&g.management_json());
        }
        AppsCmd::Grants { client_id } => {
            let all: Vec<Value> = m
                .list_app_grants(&client_id)
                .await?
                .iter()
                .map(|g| g.management_json())
                .collect();
            out.list(&all, &["id", "audience", "scope"]);
        }
        AppsCmd::Ungrant {
            client_id,
            audience,
        } => {
            let g = m.ungrant_app(&client_id, &audience).await?;
            out.note(&format!("removed grant {}", g.id));
        }
    }
    Ok(())
}
