//! `tessera apis create|list|show|update|delete`.

use clap::{Args, Subcommand};
use serde_json::Value;
use tessera_core::{
    manage::{self, ApiSpec},
    model::ResourceServer,
};

use super::{CliResult, output::Out, split_list};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum ApisCmd {
    /// Register an API: its identifier is the `audience` that gets JWT access tokens
    Create(ApiArgs),
    /// List APIs
    List,
    /// Show an API (by id or identifier)
    Show { id: String },
    /// Change an API (by id or identifier); the identifier itself cannot change
    Update {
        id: String,
        #[command(flatten)]
        args: ApiArgs,
    },
    /// Delete an API and its client grants
    Delete { id: String },
}

#[derive(Args)]
pub struct ApiArgs {
    #[arg(long)]
    name: Option<String>,
    /// The audience, any absolute URI (e.g. https://api.example.com)
    #[arg(long)]
    identifier: Option<String>,
    /// Permissions, comma-separated (e.g. read:x,write:x)
    #[arg(long, value_delimiter = ',')]
    scopes: Option<Vec<String>>,
    /// RS256 (default), ES256, EdDSA or HS256
    #[arg(long)]
    signing_alg: Option<String>,
    /// Access token lifetime in seconds (default 86400, at most 2592000)
    #[arg(long)]
    token_lifetime: Option<i64>,
    /// Lifetime of tokens from the implicit and hybrid flows (default 7200)
    #[arg(long)]
    token_lifetime_for_web: Option<i64>,
    /// access_token, access_token_authz, rfc9068_profile or rfc9068_profile_authz
    #[arg(long)]
    token_dialect: Option<String>,
    /// Allow refresh tokens (offline_access) for this API
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    offline_access: Option<bool>,
    /// Enforce RBAC policies
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    enforce_policies: Option<bool>,
}

impl ApiArgs {
    fn spec(&self) -> ApiSpec {
        ApiSpec {
            name: self.name.clone(),
            identifier: self.identifier.clone(),
            scopes: self.scopes.as_ref().map(|s| split_list(s)),
            signing_alg: self.signing_alg.clone(),
            token_lifetime: self.token_lifetime,
            token_lifetime_for_web: self.token_lifetime_for_web,
            token_dialect: self.token_dialect.clone(),
            allow_offline_access: self.offline_access,
            enforce_policies: self.enforce_policies,
        }
    }
}

fn view(i: &Install, rs: &ResourceServer) -> Value {
    let mut v = rs.management_json();
    if let Some(secret) = manage::api_signing_secret(&i.master, rs) {
        v["signing_secret"] = Value::String(secret);
    }
    v
}

pub async fn run(i: &Install, out: &Out, cmd: ApisCmd) -> CliResult {
    let m = i.manager();
    match cmd {
        ApisCmd::Create(args) => {
            let rs = m.create_api(&args.spec()).await?;
            out.object(&view(i, &rs));
            out.note(&format!(
                "Ask for a JWT access token with audience={} (at /authorize, or client credentials at /oauth/token).",
                rs.identifier
            ));
        }
        ApisCmd::List => {
            let all: Vec<Value> = m
                .list_apis()
                .await?
                .iter()
                .map(|r| r.management_json())
                .collect();
            out.list(
                &all,
                &["id", "name", "identifier", "signing_alg", "token_dialect"],
            );
        }
        ApisCmd::Show { id } => out.object(&view(i, &m.get_api(&id).await?)),
        ApisCmd::Update { id, args } => {
            let rs = m.update_api(&id, &args.spec()).await?;
            out.object(&view(i, &rs));
        }
        ApisCmd::Delete { id } => {
            let rs = m.delete_api(&id).await?;
            out.note(&format!("deleted API {} ({})", rs.id, rs.identifier));
        }
    }
    Ok(())
}
