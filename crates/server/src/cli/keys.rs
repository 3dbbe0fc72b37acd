//! `tessera keys list|rotate`: the signing keys, shaped like the Management API's
//! `/api/v2/keys/signing`.

use clap::Subcommand;
use serde_json::Value;
use tessera_core::model::SigningAlg;

use super::{CliError, CliResult, output::Out};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum KeysCmd {
    /// List signing keys
    List,
    /// Make a new key current for an algorithm; the old one stays published
    Rotate {
        /// RS256 (default), ES256 or EdDSA
        #[arg(long, default_value = "RS256")]
        alg: String,
    },
}

pub async fn run(i: &Install, out: &Out, cmd: KeysCmd) -> CliResult {
    let now = i.clock.now();
    match cmd {
        KeysCmd::List => {
            let keys: Vec<Value> = i
                .manager()
                .list_signing_keys()
                .await?
                .iter()
                .rev()
                .map(|k| k.management_json(now))
                .collect();
            out.list(
                &keys,
                &["kid", "alg", "current", "published", "current_since"],
            );
        }
        KeysCmd::Rotate { alg } => {
            let alg = SigningAlg::parse(&alg)
                .filter(|a| *a != SigningAlg::HS256)
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "unknown key algorithm '{alg}': use RS256, ES256 or EdDSA"
                    ))
                })?;
            let k = i.manager().rotate_signing_key(alg).await?;
            out.object(&k.management_json(now));
            out.note(&format!(
                "New {} tokens (ID tokens for RS256, access tokens of APIs with --signing-alg {}) are signed with this key; the previous {} key stays in the JWKS for 30 days.",
                alg.as_str(),
                alg.as_str(),
                alg.as_str()
            ));
        }
    }
    Ok(())
}
