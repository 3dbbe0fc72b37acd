//! `tessera roles create|list|show|delete|add-permissions|remove-permissions`: RBAC roles, each
//! a set of API permissions, assigned to users with `tessera users assign-roles`.

use clap::Subcommand;
use serde_json::Value;
use tessera_core::manage;

use super::{CliResult, output::Out};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum RolesCmd {
    /// Create a role
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List roles
    List,
    /// Show a role (by id or name) and its permissions
    Show { role: String },
    /// Delete a role (it is taken off every user)
    Delete { role: String },
    /// Give a role permissions (scopes) of an API
    AddPermissions {
        role: String,
        /// The API's identifier (or id)
        #[arg(long)]
        api: String,
        /// Comma-separated scopes of that API
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
    /// Take permissions of an API away from a role
    RemovePermissions {
        role: String,
        #[arg(long)]
        api: String,
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
}

pub async fn run(i: &Install, out: &Out, cmd: RolesCmd) -> CliResult {
    let (store, clock, t) = (i.store.as_ref(), i.clock.as_ref(), i.tenant.id.as_str());
    match cmd {
        RolesCmd::Create { name, description } => {
            let r = manage::create_role(store, clock, t, &name, description.as_deref()).await?;
            out.object(&r.management_json());
        }
        RolesCmd::List => {
            let all: Vec<Value> = store
                .roles(t)
                .await?
                .iter()
                .map(|r| r.management_json())
                .collect();
            out.list(&all, &["id", "name", "description"]);
        }
        RolesCmd::Show { role } => {
            out.object(&manage::find_role(store, t, &role).await?.management_json())
        }
        RolesCmd::Delete { role } => {
            let r = manage::delete_role(store, clock, t, &role).await?;
            out.note(&format!("deleted role {} ({})", r.name, r.id));
        }
        RolesCmd::AddPermissions {
            role,
            api,
            permissions,
        } => {
            let r = manage::change_permissions(store, clock, t, &role, &api, &permissions, true)
                .await?;
            out.object(&r.management_json());
        }
        RolesCmd::RemovePermissions {
            role,
            api,
            permissions,
        } => {
            let r = manage::change_permissions(store, clock, t, &role, &api, &permissions, false)
                .await?;
            out.object(&r.management_json());
        }
    }
    Ok(())
}
