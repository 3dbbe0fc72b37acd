//! `tessera roles create|list|show|delete|add-permissions|remove-permissions`: RBAC roles, each
//! a set of API permissions, assigned to users with `tessera users assign-roles`.

use clap::Subcommand;
use serde_json::Value;

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
    let m = i.manager();
    match cmd {
        RolesCmd::Create { name, description } => {
            let r = m.create_role(&name, description.as_deref()).await?;
            out.object(&r.management_json());
        }
        RolesCmd::List => {
            let all: Vec<Value> = m
                .list_roles()
                .await?
                .iter()
                .map(|r| r.management_json())
                .collect();
            out.list(&all, &["id", "name", "description"]);
        }
        RolesCmd::Show { role } => out.object(&m.get_role(&role).await?.management_json()),
        RolesCmd::Delete { role } => {
            let r = m.delete_role(&role).await?;
            out.note(&format!("deleted role {} ({})", r.name, r.id));
        }
        RolesCmd::AddPermissions {
            role,
            api,
            permissions,
        } => {
            let r = m
                .change_permissions(&role, &api, &permissions, true)
                .await?;
            out.object(&r.management_json());
        }
        RolesCmd::RemovePermissions {
            role,
            api,
            permissions,
        } => {
            let r = m
                .change_permissions(&role, &api, &permissions, false)
                .await?;
            out.object(&r.management_json());
        }
    }
    Ok(())
}
