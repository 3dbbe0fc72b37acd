//! `tessera tenant show|update`: tenant settings (the default audience for now).

use clap::Subcommand;
use tessera_core::admin;

use super::{CliResult, output::Out};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum TenantCmd {
    /// Show the tenant's settings
    Show,
    /// Change the tenant's settings
    Update {
        /// The API that token requests without `audience` are for ("" clears it)
        #[arg(long)]
        default_audience: Option<String>,
    },
}

pub async fn run(i: &Install, out: &Out, cmd: TenantCmd) -> CliResult {
    match cmd {
        TenantCmd::Show => out.object(&i.tenant.management_json()),
        TenantCmd::Update { default_audience } => {
            let t = match default_audience {
                Some(a) => admin::set_default_audience(i.store.as_ref(), &i.tenant.id, &a).await?,
                None => i.tenant.clone(),
            };
            out.object(&t.management_json());
        }
    }
    Ok(())
}
