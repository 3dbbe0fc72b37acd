//! What `tessera … --help` says beyond the doc comments: a description for the arguments that
//! many commands share (an application, a user, a role…), and one example at the end of every
//! command's help. One table each, so a new command cannot ship without them (the tests in
//! `cli::help_tests` check every command).

use clap::{Command, CommandFactory};

use super::Cli;

/// Descriptions of the arguments many commands share, by argument id, for those without a doc
/// comment of their own.
const SHARED_ARGS: &[(&str, &str)] = &[
    ("client_id", "The application's client_id"),
    ("user", "The user: a user_id or an email"),
    ("role", "The role: its id or its name"),
    ("action", "The action: its id or its name"),
    ("rule", "The rule: its id or its name"),
    ("id", "The API: its id or its identifier (audience)"),
    ("api", "The API: its id or its identifier (audience)"),
    (
        "audience",
        "The API's identifier (the audience of its tokens)",
    ),
    ("name", "A display name"),
    (
        "email",
        "The email address (one account per mailbox, however it is typed)",
    ),
    ("email_verified", "Mark the email address as verified"),
    ("description", "What the role is for"),
    ("file", "The script's file; - reads standard input"),
    (
        "secrets",
        "A secret the script reads as event.secrets.KEY: KEY=VALUE (repeatable; adds or replaces)",
    ),
    ("order", "Where the rule runs among rules: lower runs first"),
    ("trigger", "The trigger: post-login or credentials-exchange"),
    (
        "actions",
        "The trigger's actions (ids or names), in the order they should run",
    ),
    ("roles", "Roles: ids or names"),
    (
        "permissions",
        "Permissions: scopes the API defines, comma-separated",
    ),
];

/// One example per command, by its path.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "serve",
        "tessera serve --listen 0.0.0.0:3000 --issuer https://id.example.com/",
    ),
    ("migrate", "tessera migrate"),
    ("logs", "tessera logs --type f,fp,feccft --last 50 --follow"),
    ("bench-limits", "tessera bench-limits --seconds 3"),
    (
        "db check",
        "tessera db check --database-url postgres://tessera@db:5432/tessera",
    ),
    (
        "db copy",
        "tessera db copy --to postgres://tessera@db:5432/tessera",
    ),
    (
        "apis create",
        "tessera apis create --name \"My API\" --identifier https://api.example.com --scopes read:reports --offline-access",
    ),
    ("apis list", "tessera apis list --json"),
    ("apis show", "tessera apis show https://api.example.com"),
    (
        "apis update",
        "tessera apis update https://api.example.com --token-lifetime 3600",
    ),
    ("apis delete", "tessera apis delete https://api.example.com"),
    (
        "apps create",
        "tessera apps create --name \"My SPA\" --type spa --callbacks http://localhost:8080/callback",
    ),
    ("apps list", "tessera apps list"),
    ("apps show", "tessera apps show CLIENT_ID --json"),
    (
        "apps update",
        "tessera apps update CLIENT_ID --add-callback https://app.example.com/callback",
    ),
    ("apps delete", "tessera apps delete CLIENT_ID"),
    (
        "apps rotate-secret",
        "tessera apps rotate-secret CLIENT_ID --json",
    ),
    (
        "apps grant",
        "tessera apps grant CLIENT_ID --audience https://api.example.com --scopes read:reports",
    ),
    ("apps grants", "tessera apps grants CLIENT_ID"),
    (
        "apps ungrant",
        "tessera apps ungrant CLIENT_ID --audience https://api.example.com",
    ),
    (
        "users create",
        "tessera users create --email ann@example.com --password 'correct horse battery' --name Ann",
    ),
    ("users list", "tessera users list"),
    ("users show", "tessera users show ann@example.com --json"),
    (
        "users update",
        "tessera users update ann@example.com --password 'a new passphrase'",
    ),
    ("users delete", "tessera users delete ann@example.com"),
    ("users block", "tessera users block ann@example.com"),
    ("users unblock", "tessera users unblock ann@example.com"),
    (
        "users assign-roles",
        "tessera users assign-roles ann@example.com admin",
    ),
    (
        "users remove-roles",
        "tessera users remove-roles ann@example.com admin",
    ),
    ("users roles", "tessera users roles ann@example.com"),
    (
        "users permissions",
        "tessera users permissions ann@example.com",
    ),
    (
        "actions create",
        "tessera actions create --name add-plan --trigger post-login --file add-plan.js --deploy",
    ),
    ("actions list", "tessera actions list"),
    ("actions show", "tessera actions show add-plan"),
    (
        "actions update",
        "tessera actions update add-plan --file add-plan.js",
    ),
    ("actions delete", "tessera actions delete add-plan"),
    ("actions deploy", "tessera actions deploy add-plan"),
    ("actions undeploy", "tessera actions undeploy add-plan"),
    (
        "actions order",
        "tessera actions order post-login add-plan audit",
    ),
    (
        "actions test",
        "tessera actions test add-plan --user ann@example.com --client CLIENT_ID --audience https://api.example.com",
    ),
    (
        "rules create",
        "tessera rules create --name add-metadata --file add-metadata.js",
    ),
    ("rules list", "tessera rules list"),
    ("rules show", "tessera rules show add-metadata"),
    (
        "rules update",
        "tessera rules update add-metadata --order 2",
    ),
    ("rules delete", "tessera rules delete add-metadata"),
    ("rules enable", "tessera rules enable add-metadata"),
    ("rules disable", "tessera rules disable add-metadata"),
    (
        "roles create",
        "tessera roles create --name admin --description 'Runs the reports'",
    ),
    ("roles list", "tessera roles list"),
    ("roles show", "tessera roles show admin"),
    ("roles delete", "tessera roles delete admin"),
    (
        "roles add-permissions",
        "tessera roles add-permissions admin --api https://api.example.com --permissions read:reports",
    ),
    (
        "roles remove-permissions",
        "tessera roles remove-permissions admin --api https://api.example.com --permissions read:reports",
    ),
    ("tenant show", "tessera tenant show"),
    (
        "tenant update",
        "tessera tenant update --session-lifetime 86400 --brute-force-max-attempts 5",
    ),
    ("keys list", "tessera keys list"),
    ("keys rotate", "tessera keys rotate --alg RS256"),
];

/// The command line, with the shared descriptions and the examples.
pub fn command() -> Command {
    explain(Cli::command(), "")
}

fn explain(mut cmd: Command, path: &str) -> Command {
    let ids: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_help().is_none() && a.get_long_help().is_none())
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        if let Some((_, help)) = SHARED_ARGS.iter().find(|(k, _)| *k == id) {
            cmd = cmd.mut_arg(id, |a| a.help(*help));
        }
    }
    if let Some((_, example)) = EXAMPLES.iter().find(|(p, _)| *p == path) {
        cmd = cmd.after_help(format!("Example:\n  {example}"));
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = format!("{path} {name}").trim().to_owned();
        cmd = cmd.mut_subcommand(name, |s| explain(s, &sub_path));
    }
    cmd
}
