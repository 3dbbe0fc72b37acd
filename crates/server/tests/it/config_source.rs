//! Every route reads applications and APIs the same way, through the node's configuration
//! snapshot: until the node sees a change, `/authorize` and `/oauth/token` agree on the old
//! configuration, and once it does, on the new one.

use crate::{
    browser::{Browser, CB, CHALLENGE},
    support::{TestApp, start_with},
};

const API: &str = "https://api.example.com";

#[tokio::test]
async fn authorize_and_the_token_endpoint_see_one_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp {
        server: None,
        dir,
        http: reqwest::Client::new(),
        cli_env: Vec::new(),
    };
    // Configuration made before the node starts is in its first snapshot.
    assert!(app.cli(&["migrate"]).status.success());
    app.api(API, &["--scopes", "read:x"]);
    let spa = app.spa(&[]);
    let (m2m, secret) = app.granted_m2m(API, "read:x");
    // A node that polls for changes only every hour.
    app.server = Some(start_with(app.dir.path(), |s| s.config_poll_ms = 3_600_000).await);
    let b = Browser::new(&app);
    let authorize = async |b: &Browser| {
        let r = b
            .authorize(&[
                ("client_id", spa.as_str()),
                ("redirect_uri", CB),
                ("response_type", "code"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("audience", API),
            ])
            .await;
        r.status().as_u16()
    };
    assert_eq!(authorize(&b).await, 303, "to the login page");
    assert_eq!(app.cc_request(&m2m, &secret, API).await.status(), 200);

    // Both applications are disabled in the database; this node has not polled yet, so both
    // endpoints still serve the snapshot it has: neither refuses while the other accepts.
    for id in [&spa, &m2m] {
        app.cli_json(&["apps", "update", id, "--disabled"]);
    }
    let login_page = authorize(&b).await;
    let token = app.cc_request(&m2m, &secret, API).await.status().as_u16();
    assert_eq!(
        (login_page == 303, token == 200),
        (true, true),
        "one configuration for both: /authorize {login_page}, /oauth/token {token}"
    );

    // A node that reloads (here: a restart) refuses at both.
    app.restart().await;
    let b = Browser::new(&app);
    assert_eq!(authorize(&b).await, 400);
    assert_eq!(app.cc_request(&m2m, &secret, API).await.status(), 401);
}
