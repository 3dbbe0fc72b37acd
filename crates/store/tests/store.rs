//! The shared store test suite: every `Store` trait method, its conflicts, cascades and
//! ordering. Each case is a function over `&dyn Store`; the `backends!` macro runs each one
//! against a fresh SQLite file, the in-memory store, and PostgreSQL (a scratch schema of its
//! own) when `TESSERA_TEST_DATABASE_URL` is set.

use serde_json::json;
use tessera_core::{
    Store, StoreError,
    keys::{MasterKey, new_key_record},
    model::*,
    secret::SecretHash,
    store::{ArtifactStore, ClientStore, Counter, CounterKind, CounterRule, RoleStore, UserStore},
};
use tessera_store::{
    SqlStore,
    scratch::{ScratchSchema, test_database_url as pg_url},
};

const T: &str = "t1";

async fn sqlite() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("tessera.db"))
        .await
        .unwrap();
    (store, dir)
}

/// A migrated store in a fresh schema. Panics with one line if PostgreSQL is unreachable.
async fn postgres(url: &str) -> (SqlStore, ScratchSchema) {
    let scratch = ScratchSchema::create(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = SqlStore::open(&scratch.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (store, scratch)
}

macro_rules! backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = super::sqlite().await;
                    super::with_tenants(&store).await;
                    super::$case(&store).await;
                }
            )*
        }
        mod memory_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = tessera_core::memory::MemoryStore::new();
                    super::with_tenants(&store).await;
                    super::$case(&store).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(url) = super::pg_url() else { return };
                    let (store, scratch) = super::postgres(&url).await;
                    super::with_tenants(&store).await;
                    super::$case(&store).await;
                    store.close().await;
                    scratch.drop().await;
                }
            )*
        }
    };
}

backends!(
    tenants_insert_get_update_and_version,
    clients_crud_in_order,
    resource_servers_crud_and_unique_identifier,
    client_grants_crud_conflicts_and_cascades,
    users_crud_and_unique_email,
    signing_keys_rotate_atomically,
    tenants_do_not_see_each_other,
    artifacts_single_use_and_families,
    artifacts_racing_consumers_get_one_success,
    roles_crud_and_unique_names,
    scripts_by_kind_in_order,
    purge_deletes_only_the_expired_in_batches,
    signing_keys_added_at_once_leave_one_current,
    first_signing_key_is_added_once,
    keys_with_a_nul_character_match_nothing,
    counters_count_block_expire_and_clear,
    counters_racing_hits_all_count,
    stale_writes_fail_and_change_nothing,
    modify_user_changes_the_user_as_stored,
    one_mailbox_is_one_user_however_its_email_is_typed,
    grants_commit_their_redemption_and_tokens_together,
    a_grant_that_fails_to_store_a_token_does_not_spend_its_source,
    racing_grant_commits_get_one_success,
    role_assignments_keep_order_and_cascade,
    user_search_filters_sorts_pages_and_counts,
    logs_are_found_paged_counted_and_purged,
);

#[path = "store/emails.rs"]
mod emails;
#[path = "store/grants.rs"]
mod grants;
#[path = "store/logs.rs"]
mod logs;
#[path = "store/roles.rs"]
mod roles;
#[path = "store/search.rs"]
mod search;
#[path = "store/versions.rs"]
mod versions;
use emails::*;
use grants::*;
use logs::*;
use roles::*;
use search::*;
use versions::*;

async fn with_tenants(s: &dyn Store) {
    s.insert_tenant(&Tenant::new(T, "http://t1.example/", 1))
        .await
        .unwrap();
    s.insert_tenant(&Tenant::new("t2", "http://t2.example/", 1))
        .await
        .unwrap();
}

fn client(id: &str) -> Client {
    Client {
        tenant_id: T.into(),
        client_id: id.into(),
        name: format!("app {id}"),
        description: String::new(),
        app_type: AppType::NonInteractive,
        callbacks: vec!["https://app/cb".into()],
        allowed_logout_urls: vec![],
        web_origins: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        token_endpoint_auth_method: AuthMethod::ClientSecretPost,
        oidc_conformant: true,
        is_first_party: true,
        client_secret_hash: Some(SecretHash::of("s")),
        client_metadata: Default::default(),
        allow_pkce_plain: false,
        disabled: false,
        strict_auth_method: false,
        version: 0,
        created_at: 10,
        updated_at: 10,
    }
}

fn api(id: &str, identifier: &str) -> ResourceServer {
    ResourceServer {
        tenant_id: T.into(),
        id: id.into(),
        name: "API".into(),
        identifier: identifier.into(),
        scopes: vec![ScopeDef {
            value: "read:x".into(),
            description: "read".into(),
        }],
        signing_alg: SigningAlg::RS256,
        signing_secret_enc: None,
        token_lifetime: 86_400,
        token_lifetime_for_web: 7_200,
        allow_offline_access: false,
        enforce_policies: false,
        token_dialect: TokenDialect::AccessToken,
        skip_consent_for_verifiable_first_party_clients: true,
        is_system: false,
        version: 0,
        created_at: 10,
        updated_at: 10,
    }
}

fn grant(id: &str, client_id: &str, audience: &str) -> ClientGrant {
    ClientGrant {
        tenant_id: T.into(),
        id: id.into(),
        client_id: client_id.into(),
        audience: audience.into(),
        scope: vec!["read:x".into()],
        version: 0,
        created_at: 10,
    }
}

fn user(id: &str, email: &str) -> User {
    User {
        tenant_id: T.into(),
        user_id: id.into(),
        email: email.into(),
        email_verified: false,
        name: None,
        nickname: None,
        given_name: None,
        family_name: None,
        picture: None,
        app_metadata: json!({"plan": "pro"}).as_object().unwrap().clone(),
        user_metadata: Default::default(),
        password_hash: "$argon2id$x".into(),
        blocked: false,
        logins_count: 0,
        last_login: None,
        version: 0,
        created_at: 10,
        updated_at: 10,
    }
}

async fn tenants_insert_get_update_and_version(s: &dyn Store) {
    let mut t = s.tenant(T).await.unwrap().unwrap();
    assert_eq!(t.issuer, "http://t1.example/");
    assert!(s.tenant("nope").await.unwrap().is_none());
    assert!(matches!(
        s.insert_tenant(&t).await,
        Err(StoreError::Conflict(_))
    ));
    let v0 = s.config_version(T).await.unwrap();
    t.default_audience = Some("urn:api".into());
    s.update_tenant(&t).await.unwrap();
    assert_eq!(
        s.tenant(T)
            .await
            .unwrap()
            .unwrap()
            .default_audience
            .as_deref(),
        Some("urn:api")
    );
    assert!(s.config_version(T).await.unwrap() > v0);
    assert!(matches!(
        s.config_version("nope").await,
        Err(StoreError::NotFound(_))
    ));
    let ghost = Tenant::new("ghost", "http://g/", 1);
    assert!(matches!(
        s.update_tenant(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn clients_crud_in_order(s: &dyn Store) {
    let v0 = s.config_version(T).await.unwrap();
    for id in ["zeta", "alpha", "mid"] {
        s.insert_client(&client(id)).await.unwrap();
    }
    assert!(
        s.config_version(T).await.unwrap() > v0,
        "config changes bump the version"
    );
    assert!(matches!(
        s.insert_client(&client("alpha")).await,
        Err(StoreError::Conflict(_))
    ));
    let ids: Vec<_> = s
        .clients(T)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(ids, ["zeta", "alpha", "mid"], "creation order");
    let mut c = s.client(T, "alpha").await.unwrap().unwrap();
    assert_eq!(c, client("alpha"));
    c.name = "renamed".into();
    s.update_client(&c).await.unwrap();
    assert_eq!(s.client(T, "alpha").await.unwrap().unwrap().name, "renamed");
    assert!(matches!(
        s.update_client(&client("ghost")).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.delete_client(T, "alpha").await.unwrap());
    assert!(!s.delete_client(T, "alpha").await.unwrap());
    assert!(s.client(T, "alpha").await.unwrap().is_none());
}

async fn resource_servers_crud_and_unique_identifier(s: &dyn Store) {
    s.insert_resource_server(&api("a1", "https://api.one"))
        .await
        .unwrap();
    s.insert_resource_server(&api("a2", "urn:two"))
        .await
        .unwrap();
    let dup = s
        .insert_resource_server(&api("a3", "https://api.one"))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    assert_eq!(
        s.resource_server(T, "a1").await.unwrap().unwrap(),
        api("a1", "https://api.one")
    );
    assert_eq!(
        s.resource_server_by_identifier(T, "urn:two")
            .await
            .unwrap()
            .unwrap()
            .id,
        "a2"
    );
    assert!(
        s.resource_server_by_identifier(T, "urn:none")
            .await
            .unwrap()
            .is_none()
    );
    let ids: Vec<_> = s
        .resource_servers(T)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["a1", "a2"]);
    let mut rs = api("a1", "https://api.one");
    rs.token_lifetime = 60;
    rs.token_dialect = TokenDialect::Rfc9068Profile;
    s.update_resource_server(&rs).await.unwrap();
    rs.version += 1;
    assert_eq!(s.resource_server(T, "a1").await.unwrap().unwrap(), rs);
    let mut moved = rs.clone();
    moved.identifier = "https://moved".into();
    assert!(
        matches!(
            s.update_resource_server(&moved).await,
            Err(StoreError::NotFound(_))
        ),
        "identifier is immutable"
    );
    assert!(s.delete_resource_server(T, "a1").await.unwrap());
    assert!(!s.delete_resource_server(T, "a1").await.unwrap());
}

async fn client_grants_crud_conflicts_and_cascades(s: &dyn Store) {
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_resource_server(&api("a1", "urn:one"))
        .await
        .unwrap();
    s.insert_resource_server(&api("a2", "urn:two"))
        .await
        .unwrap();
    s.insert_client_grant(&grant("g1", "c1", "urn:one"))
        .await
        .unwrap();
    s.insert_client_grant(&grant("g2", "c1", "urn:two"))
        .await
        .unwrap();
    let dup = s.insert_client_grant(&grant("g3", "c1", "urn:one")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    let dangling = s
        .insert_client_grant(&grant("g4", "ghost", "urn:one"))
        .await;
    assert!(
        matches!(dangling, Err(StoreError::NotFound(_))),
        "{dangling:?}"
    );
    let no_api = s.insert_client_grant(&grant("g5", "c1", "urn:none")).await;
    assert!(matches!(no_api, Err(StoreError::NotFound(_))));
    assert_eq!(
        s.client_grant(T, "c1", "urn:one")
            .await
            .unwrap()
            .unwrap()
            .id,
        "g1"
    );
    assert!(s.client_grant(T, "c1", "urn:none").await.unwrap().is_none());
    let mut g = grant("g1", "c1", "urn:one");
    g.scope = vec![];
    s.update_client_grant(&g).await.unwrap();
    assert!(
        s.client_grant(T, "c1", "urn:one")
            .await
            .unwrap()
            .unwrap()
            .scope
            .is_empty()
    );
    assert!(matches!(
        s.update_client_grant(&grant("gx", "c1", "urn:one")).await,
        Err(StoreError::NotFound(_))
    ));
    let ids: Vec<_> = s
        .client_grants(T, "c1")
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(ids, ["g1", "g2"]);
    // Deleting the API deletes its grants; deleting the client deletes the rest.
    assert!(s.delete_resource_server(T, "a2").await.unwrap());
    assert_eq!(s.client_grants(T, "c1").await.unwrap().len(), 1);
    assert!(s.delete_client(T, "c1").await.unwrap());
    assert!(s.client_grants(T, "c1").await.unwrap().is_empty());
    s.insert_client(&client("c2")).await.unwrap();
    s.insert_client_grant(&grant("g6", "c2", "urn:one"))
        .await
        .unwrap();
    assert!(s.delete_client_grant(T, "g6").await.unwrap());
    assert!(!s.delete_client_grant(T, "g6").await.unwrap());
}

async fn users_crud_and_unique_email(s: &dyn Store) {
    s.insert_user(&user("auth0|1", "ann@example.com"))
        .await
        .unwrap();
    s.insert_user(&user("auth0|2", "bob@example.com"))
        .await
        .unwrap();
    let dup = s.insert_user(&user("auth0|3", "ann@example.com")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    assert_eq!(
        s.user(T, "auth0|1").await.unwrap().unwrap(),
        user("auth0|1", "ann@example.com")
    );
    assert_eq!(
        s.user_by_email(T, "ANN@example.com")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        "auth0|1"
    );
    assert!(
        s.user_by_email(T, "zed@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let mut u = user("auth0|1", "ann2@example.com");
    u.blocked = true;
    s.update_user(&u).await.unwrap();
    assert!(
        s.user_by_email(T, "ann@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.user_by_email(T, "ann2@example.com")
            .await
            .unwrap()
            .unwrap()
            .blocked
    );
    let mut taken = user("auth0|1", "bob@example.com");
    taken.version = 1;
    assert!(matches!(
        s.update_user(&taken).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.update_user(&user("auth0|9", "x@y")).await,
        Err(StoreError::NotFound(_))
    ));
    let ids: Vec<_> = s
        .users(T)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.user_id)
        .collect();
    assert_eq!(ids, ["auth0|1", "auth0|2"]);
    assert!(s.delete_user(T, "auth0|2").await.unwrap());
    assert!(!s.delete_user(T, "auth0|2").await.unwrap());
}

async fn signing_keys_rotate_atomically(s: &dyn Store) {
    let master = MasterKey::generate();
    let k1 = new_key_record(T, SigningAlg::EdDSA, &master, 100).unwrap();
    let k2 = new_key_record(T, SigningAlg::EdDSA, &master, 200).unwrap();
    let e1 = new_key_record(T, SigningAlg::ES256, &master, 150).unwrap();
    let v0 = s.config_version(T).await.unwrap();
    s.add_signing_key(&k1).await.unwrap();
    s.add_signing_key(&e1).await.unwrap();
    s.add_signing_key(&k2).await.unwrap();
    assert!(s.config_version(T).await.unwrap() > v0);
    assert!(matches!(
        s.add_signing_key(&k2).await,
        Err(StoreError::Conflict(_))
    ));
    let keys = s.signing_keys(T).await.unwrap();
    let summary: Vec<_> = keys
        .iter()
        .map(|k| (k.kid.clone(), k.status, k.rotated_at))
        .collect();
    assert_eq!(
        summary,
        vec![
            (k1.kid.clone(), KeyStatus::Previous, Some(200)),
            (e1.kid.clone(), KeyStatus::Current, None),
            (k2.kid.clone(), KeyStatus::Current, None),
        ]
    );
    assert_eq!(keys[2].private_enc, k2.private_enc);
    assert_eq!(keys[2].public_jwk, k2.public_jwk);
}

async fn tenants_do_not_see_each_other(s: &dyn Store) {
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_user(&user("auth0|1", "ann@example.com"))
        .await
        .unwrap();
    assert!(s.client("t2", "c1").await.unwrap().is_none());
    assert!(s.clients("t2").await.unwrap().is_empty());
    assert!(
        s.user_by_email("t2", "ann@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let mut other = user("auth0|1", "ann@example.com");
    other.tenant_id = "t2".into();
    s.insert_user(&other).await.unwrap();
    assert!(!s.delete_client("t2", "c1").await.unwrap());
    assert!(s.client(T, "c1").await.unwrap().is_some());
}

fn artifact(kind: ArtifactKind, hash: &str, family: &str, expires_at: i64) -> Artifact {
    Artifact {
        tenant_id: T.into(),
        kind,
        id_hash: hash.into(),
        family: family.into(),
        client_id: Some("c1".into()),
        user_id: Some("auth0|1".into()),
        payload: json!({"scope": ["openid"], "nonce": "n-1"}),
        created_at: 100,
        expires_at,
        consumed_at: None,
    }
}

async fn artifacts_single_use_and_families(s: &dyn Store) {
    let code = artifact(ArtifactKind::AuthorizationCode, "h1", "grant-a", 160);
    s.insert_artifact(&code).await.unwrap();
    assert!(matches!(
        s.insert_artifact(&code).await,
        Err(StoreError::Conflict(_))
    ));
    // The same hash under another kind or tenant is another artifact.
    s.insert_artifact(&artifact(ArtifactKind::AccessToken, "h1", "grant-a", 500))
        .await
        .unwrap();
    let mut other_tenant = artifact(ArtifactKind::AuthorizationCode, "h1", "grant-a", 160);
    other_tenant.tenant_id = "t2".into();
    s.insert_artifact(&other_tenant).await.unwrap();

    assert_eq!(
        s.artifact(T, ArtifactKind::AuthorizationCode, "h1")
            .await
            .unwrap()
            .as_ref(),
        Some(&code)
    );
    // Expired: not consumable.
    assert!(
        s.consume_artifact(T, ArtifactKind::AuthorizationCode, "h1", 160)
            .await
            .unwrap()
            .is_none()
    );
    let got = s
        .consume_artifact(T, ArtifactKind::AuthorizationCode, "h1", 120)
        .await
        .unwrap()
        .expect("first consumption");
    assert_eq!(got.consumed_at, Some(120));
    assert_eq!(got.payload, code.payload);
    assert!(
        s.consume_artifact(T, ArtifactKind::AuthorizationCode, "h1", 121)
            .await
            .unwrap()
            .is_none(),
        "second consumption"
    );
    // Still readable, marked consumed: that is how reuse is detected.
    let seen = s
        .artifact(T, ArtifactKind::AuthorizationCode, "h1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.consumed_at, Some(120));

    // Extending, deleting, revoking a family, purging.
    let session = artifact(ArtifactKind::Session, "s1", "sid-1", 1000);
    s.insert_artifact(&session).await.unwrap();
    assert!(
        s.extend_artifact(T, ArtifactKind::Session, "s1", 2000)
            .await
            .unwrap()
    );
    assert_eq!(
        s.artifact(T, ArtifactKind::Session, "s1")
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        2000
    );
    assert!(
        !s.extend_artifact(T, ArtifactKind::Session, "nope", 2000)
            .await
            .unwrap()
    );
    assert_eq!(s.delete_family(T, "grant-a").await.unwrap(), 2);
    assert!(
        s.artifact(T, ArtifactKind::AccessToken, "h1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.artifact("t2", ArtifactKind::AuthorizationCode, "h1")
            .await
            .unwrap()
            .is_some(),
        "other tenants' families are untouched"
    );
    assert!(
        s.delete_artifact(T, ArtifactKind::Session, "s1")
            .await
            .unwrap()
    );
    assert!(
        !s.delete_artifact(T, ArtifactKind::Session, "s1")
            .await
            .unwrap()
    );
    s.insert_artifact(&artifact(ArtifactKind::RefreshToken, "r1", "g", 300))
        .await
        .unwrap();
    s.insert_artifact(&artifact(ArtifactKind::RefreshToken, "r2", "g", 900))
        .await
        .unwrap();
    // t2's code expired at 160, r1 at 300.
    assert_eq!(s.purge_artifacts(500).await.unwrap(), 2);
    assert!(
        s.artifact(T, ArtifactKind::RefreshToken, "r2")
            .await
            .unwrap()
            .is_some()
    );
}

async fn artifacts_racing_consumers_get_one_success(s: &dyn Store) {
    for i in 0..20 {
        let hash = format!("race-{i}");
        s.insert_artifact(&artifact(ArtifactKind::RefreshToken, &hash, "g", 10_000))
            .await
            .unwrap();
        let attempts =
            (0..8).map(|_| s.consume_artifact(T, ArtifactKind::RefreshToken, &hash, 200));
        let results = futures_join_all(attempts).await;
        let wins = results
            .into_iter()
            .filter(|r| r.as_ref().unwrap().is_some())
            .count();
        assert_eq!(wins, 1, "exactly one of 8 racing consumers wins");
    }
}

/// Polls all futures concurrently (the SQL stores run them on separate pool connections).
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("polled to completion"))
        .collect()
}

fn role(id: &str, name: &str) -> Role {
    Role {
        tenant_id: T.into(),
        id: id.into(),
        name: name.into(),
        description: String::new(),
        permissions: vec![RolePermission {
            resource_server_identifier: "https://api".into(),
            permission_name: "read:x".into(),
        }],
        version: 0,
        created_at: 1,
        updated_at: 1,
    }
}

async fn roles_crud_and_unique_names(s: &dyn Store) {
    s.insert_role(&role("rol_1", "admin")).await.unwrap();
    s.insert_role(&role("rol_2", "viewer")).await.unwrap();
    assert!(matches!(
        s.insert_role(&role("rol_3", "admin")).await,
        Err(StoreError::Conflict(_))
    ));
    let mut other = role("rol_1", "admin");
    other.tenant_id = "t2".into();
    s.insert_role(&other).await.unwrap();
    assert_eq!(
        s.role(T, "rol_1").await.unwrap(),
        Some(role("rol_1", "admin"))
    );
    assert_eq!(
        s.role_by_name(T, "viewer").await.unwrap().map(|r| r.id),
        Some("rol_2".into())
    );
    let names: Vec<String> = s
        .roles(T)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["admin", "viewer"]);
    let mut renamed = role("rol_2", "admin");
    assert!(matches!(
        s.update_role(&renamed).await,
        Err(StoreError::Conflict(_))
    ));
    renamed.name = "reader".into();
    renamed.permissions.clear();
    s.update_role(&renamed).await.unwrap();
    renamed.version += 1;
    assert_eq!(s.role(T, "rol_2").await.unwrap(), Some(renamed));
    assert!(matches!(
        s.update_role(&role("rol_9", "ghost")).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.delete_role(T, "rol_1").await.unwrap());
    assert!(!s.delete_role(T, "rol_1").await.unwrap());
    assert!(s.role("t2", "rol_1").await.unwrap().is_some());
}

fn script(id: &str, kind: ScriptKind, name: &str, order: i64) -> Script {
    Script {
        tenant_id: T.into(),
        id: id.into(),
        kind,
        name: name.into(),
        trigger: (kind == ScriptKind::Action).then_some(Trigger::PostLogin),
        code: "exports.onExecutePostLogin = async () => {};".into(),
        secrets_enc: None,
        enabled: true,
        order,
        version: 0,
        created_at: 1,
        updated_at: 1,
    }
}

async fn scripts_by_kind_in_order(s: &dyn Store) {
    s.insert_script(&script("rul_b", ScriptKind::Rule, "second", 2))
        .await
        .unwrap();
    s.insert_script(&script("rul_a", ScriptKind::Rule, "first", 1))
        .await
        .unwrap();
    // The same name as an action is another script.
    s.insert_script(&script("act_a", ScriptKind::Action, "first", 1))
        .await
        .unwrap();
    assert!(matches!(
        s.insert_script(&script("rul_c", ScriptKind::Rule, "first", 3))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let rules: Vec<String> = s
        .scripts(T, ScriptKind::Rule)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.name)
        .collect();
    assert_eq!(rules, ["first", "second"]);
    let mut moved = script("rul_a", ScriptKind::Rule, "first", 9);
    moved.enabled = false;
    s.update_script(&moved).await.unwrap();
    moved.version += 1;
    let rules: Vec<String> = s
        .scripts(T, ScriptKind::Rule)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.name)
        .collect();
    assert_eq!(rules, ["second", "first"]);
    assert_eq!(s.script(T, "rul_a").await.unwrap(), Some(moved));
    assert_eq!(
        s.script_by_name(T, ScriptKind::Action, "first")
            .await
            .unwrap()
            .map(|x| x.id),
        Some("act_a".into())
    );
    assert!(s.delete_script(T, "act_a").await.unwrap());
    assert!(s.scripts(T, ScriptKind::Action).await.unwrap().is_empty());
    assert!(s.scripts("t2", ScriptKind::Rule).await.unwrap().is_empty());
}

async fn purge_deletes_only_the_expired_in_batches(s: &dyn Store) {
    // More than one purge batch of expired rows, and rows that must survive.
    for i in 0..1_234 {
        let kind = if i % 2 == 0 {
            ArtifactKind::AuthorizationCode
        } else {
            ArtifactKind::AccessToken
        };
        s.insert_artifact(&artifact(kind, &format!("old-{i}"), "g-old", 500))
            .await
            .unwrap();
    }
    s.insert_artifact(&artifact(
        ArtifactKind::RefreshToken,
        "live",
        "g-live",
        5_000,
    ))
    .await
    .unwrap();
    s.insert_artifact(&artifact(ArtifactKind::Session, "edge", "s-1", 1_000))
        .await
        .unwrap();
    assert_eq!(s.purge_artifacts(1_000).await.unwrap(), 1_234);
    assert_eq!(s.purge_artifacts(1_000).await.unwrap(), 0);
    for (kind, hash) in [
        (ArtifactKind::RefreshToken, "live"),
        (ArtifactKind::Session, "edge"),
    ] {
        assert!(s.artifact(T, kind, hash).await.unwrap().is_some(), "{hash}");
    }
    assert!(
        s.artifact(T, ArtifactKind::AccessToken, "old-1")
            .await
            .unwrap()
            .is_none()
    );
}

/// Something of every kind in tenant `T`: what `db copy` must carry over.
async fn populate(s: &dyn Store, master: &MasterKey) {
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_client(&client("c2")).await.unwrap();
    s.insert_resource_server(&api("rs1", "https://api"))
        .await
        .unwrap();
    s.insert_client_grant(&grant("cg1", "c1", "https://api"))
        .await
        .unwrap();
    s.insert_user(&user("auth0|1", "ann@example.com"))
        .await
        .unwrap();
    s.insert_user(&user("auth0|2", "bob@example.com"))
        .await
        .unwrap();
    s.add_signing_key(&new_key_record(T, SigningAlg::RS256, master, 100).unwrap())
        .await
        .unwrap();
    s.add_signing_key(&new_key_record(T, SigningAlg::RS256, master, 200).unwrap())
        .await
        .unwrap();
    s.insert_role(&role("rol_1", "admin")).await.unwrap();
    s.assign_roles(T, "auth0|2", &["rol_1".to_owned()])
        .await
        .unwrap();
    s.insert_script(&script("act_1", ScriptKind::Action, "claims", 1))
        .await
        .unwrap();
    s.insert_script(&script("rul_1", ScriptKind::Rule, "legacy", 1))
        .await
        .unwrap();
    s.insert_artifact(&artifact(ArtifactKind::RefreshToken, "rt", "g1", 9_000))
        .await
        .unwrap();
    s.insert_artifact(&artifact(
        ArtifactKind::AuthorizationCode,
        "code",
        "g1",
        9_000,
    ))
    .await
    .unwrap();
    s.consume_artifact(T, ArtifactKind::AuthorizationCode, "code", 150)
        .await
        .unwrap()
        .unwrap();
    let rule = CounterRule {
        window: 1_000,
        limit: 2,
        block: 5_000,
    };
    for _ in 0..2 {
        s.hit_counter(T, CounterKind::UserIp, "h(ann)", "10.0.0.1", rule, 100)
            .await
            .unwrap();
    }
    let mut none = artifact(ArtifactKind::Session, "sess", "s1", 9_000);
    none.client_id = None;
    none.user_id = None;
    s.insert_artifact(&none).await.unwrap();
}

/// Everything the store traits can read about tenants `T` and `t2`, as text.
async fn dump(s: &dyn Store) -> String {
    let mut out = String::new();
    for t in [T, "t2"] {
        out += &format!("{:?}\n", s.tenant(t).await.unwrap());
        out += &format!("{:?}\n", s.clients(t).await.unwrap());
        out += &format!("{:?}\n", s.resource_servers(t).await.unwrap());
        out += &format!("{:?}\n", s.client_grants(t, "c1").await.unwrap());
        out += &format!("{:?}\n", s.users(t).await.unwrap());
        out += &format!("{:?}\n", s.signing_keys(t).await.unwrap());
        out += &format!("{:?}\n", s.roles(t).await.unwrap());
        out += &format!("{:?}\n", s.user_roles(t, "auth0|2").await.unwrap());
        out += &format!("{:?}\n", s.scripts(t, ScriptKind::Action).await.unwrap());
        out += &format!("{:?}\n", s.scripts(t, ScriptKind::Rule).await.unwrap());
        for (kind, hash) in [
            (ArtifactKind::RefreshToken, "rt"),
            (ArtifactKind::AuthorizationCode, "code"),
            (ArtifactKind::Session, "sess"),
        ] {
            out += &format!("{:?}\n", s.artifact(t, kind, hash).await.unwrap());
        }
        out += &format!(
            "{:?}\n",
            s.counter(t, CounterKind::UserIp, "h(ann)", "10.0.0.1")
                .await
                .unwrap()
        );
    }
    out
}

/// Copies `from` into `to` (empty) and checks that both read the same, and that a second copy
/// into the now populated target is refused without touching it.
async fn copy_and_compare(from: &SqlStore, to: &SqlStore) {
    let copied = tessera_store::copy(from, to).await.unwrap();
    assert!(copied.total() >= 15, "{copied:?}");
    let before = dump(from).await;
    assert_eq!(dump(to).await, before);
    assert!(matches!(
        tessera_store::copy(from, to).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(dump(to).await, before);
    // The copy is a working installation: single use still holds, and it keeps counting.
    assert!(
        to.consume_artifact(T, ArtifactKind::AuthorizationCode, "code", 300)
            .await
            .unwrap()
            .is_none()
    );
    let live = from
        .artifact(T, ArtifactKind::RefreshToken, "rt")
        .await
        .unwrap()
        .unwrap()
        .consumed_at
        .is_none();
    let won = to
        .consume_artifact(T, ArtifactKind::RefreshToken, "rt", 300)
        .await
        .unwrap();
    assert_eq!(
        won.is_some(),
        live,
        "a live token stays live, a used one used"
    );
    let next = format!("c{}", to.clients(T).await.unwrap().len() + 1);
    to.insert_client(&client(&next)).await.unwrap();
}

#[tokio::test]
async fn copy_between_sqlite_files() {
    let (a, _da) = sqlite().await;
    let (b, _db) = sqlite().await;
    with_tenants(&a).await;
    populate(&a, &MasterKey::generate()).await;
    copy_and_compare(&a, &b).await;
}

#[tokio::test]
async fn copy_sqlite_to_postgres_and_back() {
    let Some(url) = pg_url() else { return };
    let (lite, _dir) = sqlite().await;
    with_tenants(&lite).await;
    populate(&lite, &MasterKey::generate()).await;
    let (pg, scratch) = postgres(&url).await;
    copy_and_compare(&lite, &pg).await;
    let (back, _dir2) = sqlite().await;
    copy_and_compare(&pg, &back).await;
    pg.close().await;
    scratch.drop().await;
}

#[tokio::test]
async fn schema_version_is_read_without_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let url = tessera_store::DatabaseUrl::Sqlite(dir.path().join("new.db"));
    let store = SqlStore::connect(&url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 0);
    assert_eq!(
        store.schema_version().await.unwrap(),
        0,
        "reading did not migrate"
    );
    let m = store.migrate().await.unwrap();
    assert_eq!((m.from, m.to), (0, tessera_store::SCHEMA_VERSION));
    let again = store.migrate().await.unwrap();
    assert_eq!((again.from, again.to), (m.to, m.to));
    assert_eq!(
        store.schema_version().await.unwrap(),
        tessera_store::SCHEMA_VERSION
    );
}

#[tokio::test]
async fn postgres_schema_version_and_concurrent_migrations() {
    let Some(url) = pg_url() else { return };
    let scratch = ScratchSchema::create(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let a = SqlStore::connect(&scratch.url).await.unwrap();
    let b = SqlStore::connect(&scratch.url).await.unwrap();
    assert_eq!(a.schema_version().await.unwrap(), 0);
    // Two nodes starting on an empty database: both succeed, the schema is applied once.
    let (ma, mb) = tokio::join!(a.migrate(), b.migrate());
    let (ma, mb) = (ma.unwrap(), mb.unwrap());
    assert_eq!(ma.to, tessera_store::SCHEMA_VERSION);
    assert_eq!(mb.to, tessera_store::SCHEMA_VERSION);
    assert_eq!(
        [ma.from, mb.from].iter().filter(|f| **f == 0).count(),
        1,
        "exactly one node applied the migrations: {ma:?} {mb:?}"
    );
    a.close().await;
    b.close().await;
    scratch.drop().await;
}

#[tokio::test]
async fn postgres_two_pools_racing_on_one_artifact_get_one_success() {
    let Some(url) = pg_url() else { return };
    let (a, scratch) = postgres(&url).await;
    let b = SqlStore::open(&scratch.url).await.unwrap();
    with_tenants(&a).await;
    for i in 0..100 {
        let hash = format!("race-{i}");
        a.insert_artifact(&artifact(
            ArtifactKind::AuthorizationCode,
            &hash,
            "g",
            10_000,
        ))
        .await
        .unwrap();
        let attempts = (0..6).map(|n| {
            let store = if n % 2 == 0 { &a } else { &b };
            store.consume_artifact(T, ArtifactKind::AuthorizationCode, &hash, 200)
        });
        let wins = futures_join_all(attempts)
            .await
            .into_iter()
            .filter(|r| r.as_ref().unwrap().is_some())
            .count();
        assert_eq!(wins, 1, "exactly one of 6 consumers on two pools wins");
    }
    a.close().await;
    b.close().await;
    scratch.drop().await;
}

#[tokio::test]
async fn unreachable_postgres_fails_fast_with_a_reason() {
    let started = std::time::Instant::now();
    let url: tessera_store::DatabaseUrl = "postgres://postgres@127.0.0.1:1/none".parse().unwrap();
    let err = SqlStore::open(&url).await.unwrap_err().to_string();
    assert!(err.contains("cannot connect to PostgreSQL at"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn database_urls_are_parsed_and_redacted() {
    use tessera_store::DatabaseUrl;
    let lite: DatabaseUrl = "sqlite://data/tessera.db".parse().unwrap();
    assert_eq!(lite, DatabaseUrl::Sqlite("data/tessera.db".into()));
    let pg: DatabaseUrl = "postgres://app:s3cret@db:5432/idp".parse().unwrap();
    assert!(!pg.to_string().contains("s3cret"), "{pg}");
    // Every place a PostgreSQL URL can carry a password, in Display, Debug and parse errors.
    for url in [
        "postgres://app@db:5432/idp?password=s3cret",
        "postgres://app@db:5432/idp?sslmode=disable&password=s3cret",
        "postgresql://app:s3cret@db/idp?application_name=x",
    ] {
        let pg: DatabaseUrl = url.parse().unwrap();
        for shown in [pg.to_string(), format!("{pg:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("db"), "the rest stays readable: {shown}");
        }
    }
    for bad in [
        "postgres://app@db:5432/idp?password=s3cret&port=notanumber",
        "postgres://app:s3cret@[::1/idp",
        "postgresql://app:s3cret@db/idp?sslpassword=s3cret&application_name=x",
        "postgres://app@db:5432/idp?sslmode=disable&PASSWORD=s3cret",
    ] {
        let err = bad.parse::<DatabaseUrl>().unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }
    for bad in [
        "mysql://x/y",
        "sqlite://",
        "tessera.db",
        "sqlite://:memory:",
        "sqlite://x.db?mode=memory",
    ] {
        let err = bad.parse::<DatabaseUrl>().unwrap_err();
        assert!(
            err.contains("sqlite://") || err.contains("file path"),
            "{bad}: {err}"
        );
    }
}

async fn signing_keys_added_at_once_leave_one_current(s: &dyn Store) {
    // Two nodes starting on an empty database, or two `keys rotate`, at the same moment.
    let master = MasterKey::generate();
    for round in 0..5 {
        let k1 = new_key_record(T, SigningAlg::RS256, &master, 100 + round).unwrap();
        let k2 = new_key_record(T, SigningAlg::RS256, &master, 100 + round).unwrap();
        let (a, b) = tokio::join!(s.add_signing_key(&k1), s.add_signing_key(&k2));
        a.unwrap();
        b.unwrap();
        let keys = s.signing_keys(T).await.unwrap();
        let current = keys
            .iter()
            .filter(|k| k.status == KeyStatus::Current)
            .count();
        assert_eq!(current, 1, "round {round}: exactly one current key");
        assert_eq!(keys.len() as i64, 2 * (round + 1));
    }
}

async fn keys_with_a_nul_character_match_nothing(s: &dyn Store) {
    s.insert_client(&client("c1")).await.unwrap();
    s.insert_user(&user("auth0|1", "ann@example.com"))
        .await
        .unwrap();
    assert!(s.client(T, "c1\0").await.unwrap().is_none());
    assert!(
        s.user_by_email(T, "ann@example.com\0")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.user(T, "\0").await.unwrap().is_none());
    assert!(
        s.artifact(T, ArtifactKind::AuthorizationCode, "ab\0cd")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.client_grants(T, "c\0").await.unwrap().is_empty());
}

/// What cannot be stored on PostgreSQL is refused on SQLite too, with an error, not a panic.
async fn text_with_a_nul_is_refused(s: &SqlStore) {
    let err = s
        .insert_user(&user("auth0|9", "nul\0@example.com"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[tokio::test]
async fn sqlite_refuses_text_with_a_nul() {
    let (s, _dir) = sqlite().await;
    with_tenants(&s).await;
    text_with_a_nul_is_refused(&s).await;
}

#[tokio::test]
async fn postgres_refuses_text_with_a_nul() {
    let Some(url) = pg_url() else { return };
    let (s, scratch) = postgres(&url).await;
    with_tenants(&s).await;
    text_with_a_nul_is_refused(&s).await;
    s.close().await;
    scratch.drop().await;
}

async fn first_signing_key_is_added_once(s: &dyn Store) {
    // Two nodes' first start on an empty database: one key, not two.
    let master = MasterKey::generate();
    let k1 = new_key_record(T, SigningAlg::ES256, &master, 100).unwrap();
    let k2 = new_key_record(T, SigningAlg::ES256, &master, 100).unwrap();
    let (a, b) = tokio::join!(s.add_first_signing_key(&k1), s.add_first_signing_key(&k2));
    assert_eq!(
        [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|added| **added)
            .count(),
        1
    );
    assert_eq!(s.signing_keys(T).await.unwrap().len(), 1);
    let k3 = new_key_record(T, SigningAlg::ES256, &master, 200).unwrap();
    assert!(!s.add_first_signing_key(&k3).await.unwrap());
}

async fn counters_count_block_expire_and_clear(s: &dyn Store) {
    let rule = CounterRule {
        window: 100,
        limit: 3,
        block: 1_000,
    };
    let hit = |subject: &'static str, ip: &'static str, now: i64| {
        s.hit_counter(T, CounterKind::UserIp, subject, ip, rule, now)
    };
    assert_eq!(
        hit("a", "ip1", 10).await.unwrap(),
        Counter {
            count: 1,
            expires_at: 110
        }
    );
    assert_eq!(hit("a", "ip1", 20).await.unwrap().count, 2);
    // The hit that reaches the limit moves the expiry to the end of the block.
    let c = hit("a", "ip1", 30).await.unwrap();
    assert_eq!(
        c,
        Counter {
            count: 3,
            expires_at: 1_030
        }
    );
    assert!(c.reached(3, 1_029) && !c.reached(3, 1_030));
    // Later hits count on without moving it.
    assert_eq!(
        hit("a", "ip1", 40).await.unwrap(),
        Counter {
            count: 4,
            expires_at: 1_030
        }
    );
    // An expired counter starts again at 1.
    assert_eq!(
        hit("a", "ip1", 1_030).await.unwrap(),
        Counter {
            count: 1,
            expires_at: 1_130
        }
    );
    // A window that ran out before the limit starts again too.
    hit("b", "ip1", 0).await.unwrap();
    hit("b", "ip1", 50).await.unwrap();
    assert_eq!(hit("b", "ip1", 100).await.unwrap().count, 1);

    // A rule without a block keeps the window's end.
    let ip_rule = CounterRule {
        window: 100,
        limit: 2,
        block: 0,
    };
    s.hit_counter(T, CounterKind::Ip, "", "ip9", ip_rule, 10)
        .await
        .unwrap();
    let c = s
        .hit_counter(T, CounterKind::Ip, "", "ip9", ip_rule, 60)
        .await
        .unwrap();
    assert_eq!(
        c,
        Counter {
            count: 2,
            expires_at: 110
        }
    );

    // Kinds, subjects, IPs and tenants are separate counters.
    hit("a", "ip2", 1_040).await.unwrap();
    assert_eq!(
        s.counter(T, CounterKind::UserIp, "a", "ip2").await.unwrap(),
        Some(Counter {
            count: 1,
            expires_at: 1_140
        })
    );
    assert_eq!(
        s.counter(T, CounterKind::Ip, "a", "ip2").await.unwrap(),
        None
    );
    assert_eq!(
        s.counter("t2", CounterKind::UserIp, "a", "ip2")
            .await
            .unwrap(),
        None
    );

    // Clearing one IP, then all of a subject's.
    assert_eq!(
        s.clear_counters(T, CounterKind::UserIp, "a", Some("ip2"))
            .await
            .unwrap(),
        1
    );
    hit("a", "ip2", 1_040).await.unwrap();
    assert_eq!(
        s.clear_counters(T, CounterKind::UserIp, "a", None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.counter(T, CounterKind::UserIp, "a", "ip1").await.unwrap(),
        None
    );
    assert!(
        s.counter(T, CounterKind::UserIp, "b", "ip1")
            .await
            .unwrap()
            .is_some()
    );

    // The purge takes only what expired.
    assert_eq!(
        s.purge_counters(150).await.unwrap(),
        1,
        "ip9 expired at 110"
    );
    assert!(
        s.counter(T, CounterKind::UserIp, "b", "ip1")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(s.purge_counters(10_000).await.unwrap(), 1);
    assert_eq!(
        s.counter(T, CounterKind::UserIp, "b", "ip1").await.unwrap(),
        None
    );
}

async fn counters_racing_hits_all_count(s: &dyn Store) {
    let rule = CounterRule {
        window: 1_000,
        limit: 100,
        block: 0,
    };
    let hits = (0..16).map(|_| s.hit_counter(T, CounterKind::Ip, "", "10.9.9.9", rule, 5));
    let results = futures_join_all(hits).await;
    let mut counts: Vec<i64> = results.into_iter().map(|r| r.unwrap().count).collect();
    counts.sort();
    assert_eq!(
        counts,
        (1..=16).collect::<Vec<_>>(),
        "every hit counted once"
    );
}
