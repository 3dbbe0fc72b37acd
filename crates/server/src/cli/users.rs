//! `tessera users create|list|show|update|delete|block|unblock`. Passwords are hashed with
//! argon2id; `--password -` reads the password from standard input (kept out of `ps`).

use clap::{Args, Subcommand};
use serde_json::Value;
use tessera_core::{
    manage::{Manager, PageRequest, UserSpec},
    password,
    secret::Secret,
};

use super::{CliError, CliResult, output::Out};
use crate::boot::Install;

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Create a user
    Create(UserArgs),
    /// List users, a page at a time
    List {
        /// Auth0's search syntax, e.g. 'email:"ann@example.com"' or 'name:ann* AND blocked:true'
        #[arg(long, short)]
        q: Option<String>,
        /// created_at, email or user_id, then :1 (ascending) or :-1
        #[arg(long)]
        sort: Option<String>,
        /// Page number, from 0
        #[arg(long, default_value_t = 0)]
        page: u64,
        /// Users per page (1 to 100)
        #[arg(long, default_value_t = 50)]
        per_page: u64,
    },
    /// Show a user (by user_id or email)
    Show { user: String },
    /// Change a user (by user_id or email)
    Update {
        user: String,
        #[command(flatten)]
        args: UserArgs,
    },
    /// Delete a user
    Delete { user: String },
    /// Block a user from signing in
    Block { user: String },
    /// Unblock a user; also lifts brute-force blocks on the user's email from every IP
    Unblock { user: String },
    /// Assign roles (by id or name) to a user
    AssignRoles {
        user: String,
        #[arg(required = true)]
        roles: Vec<String>,
    },
    /// Take roles away from a user
    RemoveRoles {
        user: String,
        #[arg(required = true)]
        roles: Vec<String>,
    },
    /// The user's roles
    Roles { user: String },
    /// The user's permissions, through their roles
    Permissions { user: String },
}

#[derive(Args)]
pub struct UserArgs {
    #[arg(long)]
    email: Option<String>,
    /// The password, or - to read it from standard input
    #[arg(long)]
    password: Option<String>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    email_verified: Option<bool>,
    /// A JSON object, e.g. '{"plan":"pro"}'
    #[arg(long)]
    app_metadata: Option<String>,
    /// A JSON object
    #[arg(long)]
    user_metadata: Option<String>,
}

impl UserArgs {
    fn spec(self) -> Result<UserSpec, CliError> {
        let password = match self.password.as_deref() {
            Some("-") => {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|e| {
                    CliError::usage(format!("--password -: cannot read standard input: {e}"))
                })?;
                Some(Secret::new(line.trim_end_matches(['\r', '\n'])))
            }
            Some(p) => Some(Secret::new(p)),
            None => None,
        };
        Ok(UserSpec {
            email: self.email,
            password,
            name: self.name,
            email_verified: self.email_verified,
            app_metadata: self.app_metadata,
            user_metadata: self.user_metadata,
            merge_metadata: false,
        })
    }
}

pub async fn run(i: &Install, out: &Out, cmd: UsersCmd) -> CliResult {
    let m = i.manager();
    let hash = |pw: String| password::hash(&pw);
    match cmd {
        UsersCmd::Create(args) => {
            let u = m.create_user(&args.spec()?, hash).await?;
            out.object(&u.management_json());
        }
        UsersCmd::List {
            q,
            sort,
            page,
            per_page,
        } => {
            let request = PageRequest::Offset {
                page,
                per_page,
                include_totals: true,
            };
            let found = m
                .list_users(q.as_deref().unwrap_or(""), sort.as_deref(), &request)
                .await?;
            let all: Vec<Value> = found.items.iter().map(|u| u.management_json()).collect();
            out.list(&all, &["user_id", "email", "name", "blocked"]);
            let total = found.total.unwrap_or_default();
            if total > found.start + found.items.len() as u64 {
                out.note(&format!(
                    "{} to {} of {total}; the next page is --page {}",
                    found.start + 1,
                    found.start + found.items.len() as u64,
                    page + 1
                ));
            }
        }
        UsersCmd::Show { user } => out.object(&m.get_user(&user).await?.management_json()),
        UsersCmd::Update { user, args } => {
            let u = m.update_user(&user, &args.spec()?, hash).await?;
            out.object(&u.management_json());
        }
        UsersCmd::Delete { user } => {
            let u = m.delete_user(&user).await?;
            out.note(&format!("deleted user {}", u.user_id));
        }
        UsersCmd::Block { user } => {
            out.object(&m.set_user_blocked(&user, true).await?.management_json())
        }
        UsersCmd::Unblock { user } => {
            out.object(&m.set_user_blocked(&user, false).await?.management_json())
        }
        UsersCmd::AssignRoles { user, roles } => {
            let u = m.change_user_roles(&user, &roles, true).await?;
            print_roles(out, &m, &u.user_id).await?;
        }
        UsersCmd::RemoveRoles { user, roles } => {
            let u = m.change_user_roles(&user, &roles, false).await?;
            print_roles(out, &m, &u.user_id).await?;
        }
        UsersCmd::Roles { user } => {
            print_roles(out, &m, &user).await?;
        }
        UsersCmd::Permissions { user } => {
            let all: Vec<Value> = m
                .user_permissions(&user)
                .await?
                .iter()
                .map(|p| serde_json::to_value(p).unwrap_or_default())
                .collect();
            out.list(&all, &["resource_server_identifier", "permission_name"]);
        }
    }
    Ok(())
}

async fn print_roles(out: &Out, m: &Manager<'_>, user: &str) -> CliResult {
    let all: Vec<Value> = m
        .user_roles(user)
        .await?
        .iter()
        .map(|r| r.management_json())
        .collect();
    out.list(&all, &["id", "name", "description"]);
    Ok(())
}
