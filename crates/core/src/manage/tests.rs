//! Admin operations and the client-credentials grant against the in-memory store and a fixed
//! clock.

use super::*;
use crate::store::{ClientStore, KeyStore};
use crate::{
    ErrorCode, FixedClock,
    context::Ctx,
    grant::{TokenRequest, token},
    keys::KeyRing,
    memory::MemoryStore,
};

struct World {
    store: MemoryStore,
    master: MasterKey,
    clock: FixedClock,
    tenant: Tenant,
}

async fn world() -> World {
    let store = MemoryStore::new();
    let master = MasterKey::generate();
    let clock = FixedClock::new(1_800_000_000);
    let tenant = ensure_tenant(
        &store,
        &master,
        &clock,
        "default",
        None,
        "http://127.0.0.1:3000",
        false,
    )
    .await
    .unwrap();
    World {
        store,
        master,
        clock,
        tenant,
    }
}

impl World {
    async fn api(&self, identifier: &str, alg: &str, dialect: &str) -> ResourceServer {
        let spec = ApiSpec {
            name: Some("API".into()),
            identifier: Some(identifier.into()),
            scopes: Some(vec!["read:x".into(), "write:x".into()]),
            signing_alg: Some(alg.into()),
            token_dialect: Some(dialect.into()),
            ..Default::default()
        };
        Manager::operator(&self.store, &self.clock, &self.master, "default")
            .create_api(&spec)
            .await
            .unwrap()
    }

    async fn m2m(&self) -> (Client, Secret) {
        let spec = AppSpec {
            name: Some("svc".into()),
            app_type: Some("m2m".into()),
            ..Default::default()
        };
        let (c, s) = Manager::operator(&self.store, &self.clock, &self.master, "default")
            .create_app(&spec)
            .await
            .unwrap();
        (c, s.unwrap())
    }

    async fn token(
        &self,
        params: &[(&str, &str)],
    ) -> Result<crate::grant::TokenResponse, crate::OAuthError> {
        let recs = self.store.signing_keys("default").await.unwrap();
        let keys = KeyRing::load(&recs, &self.master, self.clock.now()).unwrap();
        let ctx = Ctx {
            store: &self.store,
            clock: &self.clock,
            keys: &keys,
            master: &self.master,
            tenant: &self.tenant,
            hooks: None,
            request: Default::default(),
            scripts: None,
            config: None,
        };
        let pairs = params.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        token(&ctx, &TokenRequest::from_pairs(pairs, None).unwrap()).await
    }
}

fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn first_start_makes_tenant_and_rs256_key_and_second_start_reuses_them() {
    let w = world().await;
    assert_eq!(w.tenant.issuer, "http://127.0.0.1:3000/");
    let again = |issuer: Option<&'static str>, default: &'static str, adopt: bool| {
        ensure_tenant(
            &w.store, &w.master, &w.clock, "default", issuer, default, adopt,
        )
    };
    // A CLI command (adopt = false) keeps the stored issuer.
    assert_eq!(again(None, "http://other/", false).await.unwrap(), w.tenant);
    assert_eq!(w.store.signing_keys("default").await.unwrap().len(), 1);
    // The server starting on another address adopts it while the issuer is only a default.
    let adopted = again(None, "http://0.0.0.0:8080", true).await.unwrap();
    assert_eq!(adopted.issuer, "http://0.0.0.0:8080/");
    // An explicit issuer replaces it, and is no longer replaced by defaults.
    let moved = again(Some("https://id.example.com"), "x", true)
        .await
        .unwrap();
    assert_eq!(moved.issuer, "https://id.example.com/");
    let kept = again(None, "http://127.0.0.1:9/", true).await.unwrap();
    assert_eq!(kept.issuer, "https://id.example.com/");
}

#[tokio::test]
async fn a_wrong_master_key_is_refused_before_it_seals_anything() {
    let w = world().await;
    let other = MasterKey::generate();
    let e = ensure_tenant(&w.store, &other, &w.clock, "default", None, "x", false).await;
    assert!(matches!(e, Err(ManageError::WrongMasterKey)), "{e:?}");
    assert_eq!(
        w.store.signing_keys("default").await.unwrap().len(),
        1,
        "no key sealed with the wrong master key"
    );
}

#[tokio::test]
async fn client_credentials_mints_the_auth0_dialect() {
    let w = world().await;
    w.api("https://api.example.com", "RS256", "access_token")
        .await;
    let (c, s) = w.m2m().await;
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .grant_app(&c.client_id, "https://api.example.com", &["read:x".into()])
        .await
        .unwrap();
    let r = w
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", s.expose()),
            ("audience", "https://api.example.com"),
        ])
        .await
        .unwrap();
    assert_eq!(r.expires_in, 86_400);
    assert_eq!(r.scope.as_deref(), Some("read:x"));
    assert!(r.format.jwt);
    let cl = claims(&r.access_token);
    assert_eq!(cl["sub"], format!("{}@clients", c.client_id));
    assert_eq!(cl["gty"], "client-credentials");
    assert_eq!(cl["azp"], c.client_id.as_str());
    assert_eq!(cl["aud"], "https://api.example.com");
    assert_eq!(cl["iat"], 1_800_000_000i64);
    assert_eq!(cl["exp"], 1_800_086_400i64);
    assert!(cl.get("jti").is_none() && cl.get("permissions").is_none());
}

#[tokio::test]
async fn scope_request_is_intersected_with_the_grant() {
    let w = world().await;
    w.api("urn:api", "ES256", "rfc9068_profile_authz").await;
    let (c, s) = w.m2m().await;
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .grant_app(
            &c.client_id,
            "urn:api",
            &["read:x".into(), "write:x".into()],
        )
        .await
        .unwrap();
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", s.expose()),
        ("audience", "urn:api"),
    ];
    let mut p = base.to_vec();
    p.push(("scope", "write:x delete:x"));
    let r = w.token(&p).await.unwrap();
    assert_eq!(r.scope.as_deref(), Some("write:x"));
    let cl = claims(&r.access_token);
    assert_eq!(cl["permissions"], serde_json::json!(["write:x"]));
    assert_eq!(cl["client_id"], c.client_id.as_str());
    assert!(cl.get("azp").is_none() && cl.get("gty").is_none() && cl["jti"].is_string());
}

#[tokio::test]
async fn errors_carry_the_right_codes() {
    let w = world().await;
    w.api("urn:api", "RS256", "access_token").await;
    let (c, s) = w.m2m().await;
    let id = c.client_id.as_str();
    let cc = ("grant_type", "client_credentials");
    let code = |r: Result<_, crate::OAuthError>| {
        r.map(|_: crate::grant::TokenResponse| ()).unwrap_err().code
    };

    // No grant yet.
    let e = w
        .token(&[
            cc,
            ("client_id", id),
            ("client_secret", s.expose()),
            ("audience", "urn:api"),
        ])
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDenied);
    assert!(
        e.description.contains("tessera apps grant"),
        "{}",
        e.description
    );
    // Unknown audience.
    let e = w
        .token(&[
            cc,
            ("client_id", id),
            ("client_secret", s.expose()),
            ("audience", "urn:nope"),
        ])
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDenied);
    assert!(
        e.description.contains("Service not found: urn:nope")
            && e.description.contains("tessera apis create")
    );
    // Missing audience, no default.
    assert_eq!(
        code(
            w.token(&[cc, ("client_id", id), ("client_secret", s.expose())])
                .await
        ),
        ErrorCode::InvalidRequest
    );
    // Wrong secret, unknown client, no secret.
    assert_eq!(
        code(
            w.token(&[
                cc,
                ("client_id", id),
                ("client_secret", "nope"),
                ("audience", "urn:api")
            ])
            .await
        ),
        ErrorCode::InvalidClient
    );
    assert_eq!(
        code(
            w.token(&[
                cc,
                ("client_id", "ghost"),
                ("client_secret", "x"),
                ("audience", "urn:api")
            ])
            .await
        ),
        ErrorCode::InvalidClient
    );
    assert_eq!(
        code(
            w.token(&[cc, ("client_id", id), ("audience", "urn:api")])
                .await
        ),
        ErrorCode::InvalidClient
    );
    // Unknown and missing grant types.
    assert_eq!(
        code(w.token(&[("grant_type", "urn:magic")]).await),
        ErrorCode::UnsupportedGrantType
    );
    assert_eq!(
        code(w.token(&[("client_id", id)]).await),
        ErrorCode::InvalidRequest
    );

    // An app whose grant types exclude client_credentials.
    let spec = AppSpec {
        name: Some("web".into()),
        app_type: Some("regular".into()),
        grant_types: Some(vec!["authorization_code".into()]),
        ..Default::default()
    };
    let (web, ws) = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .create_app(&spec)
        .await
        .unwrap();
    let e = w
        .token(&[
            cc,
            ("client_id", &web.client_id),
            ("client_secret", ws.unwrap().expose()),
            ("audience", "urn:api"),
        ])
        .await;
    assert_eq!(code(e), ErrorCode::UnauthorizedClient);
}

#[tokio::test]
async fn default_audience_is_used_when_none_is_given() {
    let mut w = world().await;
    w.api("urn:api", "EdDSA", "access_token").await;
    let (c, s) = w.m2m().await;
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .grant_app(&c.client_id, "urn:api", &[])
        .await
        .unwrap();
    w.tenant.default_audience = Some("urn:api".into());
    let r = w
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", s.expose()),
        ])
        .await
        .unwrap();
    assert_eq!(claims(&r.access_token)["aud"], "urn:api");
    assert!(r.scope.is_none());
}

#[tokio::test]
async fn admin_validation_refuses_bad_input() {
    let w = world().await;
    let bad_api = ApiSpec {
        name: Some("x".into()),
        identifier: Some("not a uri".into()),
        ..Default::default()
    };
    assert!(matches!(
        Manager::operator(&w.store, &w.clock, &w.master, "default")
            .create_api(&bad_api)
            .await,
        Err(ManageError::Invalid { .. })
    ));
    w.api("urn:api", "RS256", "access_token").await;
    let dup = ApiSpec {
        name: Some("x".into()),
        identifier: Some("urn:api".into()),
        ..Default::default()
    };
    assert!(matches!(
        Manager::operator(&w.store, &w.clock, &w.master, "default")
            .create_api(&dup)
            .await,
        Err(ManageError::Conflict(_))
    ));
    let bad_app = AppSpec {
        name: Some("x".into()),
        app_type: Some("spa".into()),
        callbacks: Some(vec!["nope".into()]),
        ..Default::default()
    };
    assert!(matches!(
        Manager::operator(&w.store, &w.clock, &w.master, "default")
            .create_app(&bad_app)
            .await,
        Err(ManageError::Invalid { .. })
    ));
    assert!(matches!(
        Manager::operator(&w.store, &w.clock, &w.master, "default")
            .grant_app("ghost", "urn:api", &[])
            .await,
        Err(ManageError::NotFound(_))
    ));
    let (c, _) = w.m2m().await;
    let e = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .grant_app(&c.client_id, "urn:api", &["admin".into()])
        .await;
    assert!(
        matches!(e, Err(ManageError::Invalid { message: m, .. }) if m.contains("does not define"))
    );
    let bad_user = UserSpec {
        email: Some("a@b.c".into()),
        password: Some(Secret::new("longenough")),
        app_metadata: Some("{oops".into()),
        ..Default::default()
    };
    let e = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .create_user(&bad_user, |_| panic!("must not hash"))
        .await;
    assert!(matches!(
        e,
        Err(ManageError::Invalid {
            field: Some("app_metadata"),
            ..
        })
    ));
}

#[tokio::test]
async fn hs256_apis_get_a_secret_and_spa_apps_none() {
    let w = world().await;
    let rs = w.api("urn:hs", "HS256", "access_token").await;
    let secret = api_signing_secret(&w.master, &rs).unwrap();
    assert!(secret.len() >= 32);
    let spec = AppSpec {
        name: Some("spa".into()),
        app_type: Some("spa".into()),
        ..Default::default()
    };
    let (c, s) = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .create_app(&spec)
        .await
        .unwrap();
    assert!(s.is_none() && c.client_secret_hash.is_none());
    assert!(
        Manager::operator(&w.store, &w.clock, &w.master, "default")
            .rotate_app_secret(&c.client_id)
            .await
            .is_err()
    );
    let (m, old) = w.m2m().await;
    let (_, new) = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .rotate_app_secret(&m.client_id)
        .await
        .unwrap();
    let stored = w
        .store
        .client("default", &m.client_id)
        .await
        .unwrap()
        .unwrap();
    let hash = stored.client_secret_hash.unwrap();
    assert!(hash.matches(new.expose()) && !hash.matches(old.expose()));
}

#[tokio::test]
async fn each_operation_checks_the_actors_scope_before_it_reads_or_changes_anything() {
    let w = world().await;
    let (app, _) = w.m2m().await;
    let actor = Actor::client("mgmt", ["read:clients".to_owned()]);
    let m = Manager {
        store: &w.store,
        clock: &w.clock,
        master: &w.master,
        tenant: "default",
        actor: &actor,
    };
    // Held: reads work.
    assert_eq!(
        m.get_app(&app.client_id).await.unwrap().client_id,
        app.client_id
    );
    assert!(!m.list_apps().await.unwrap().is_empty());
    // Not held: refused with Auth0's message, and nothing changed.
    let spec = AppSpec {
        name: Some("x".into()),
        app_type: Some("m2m".into()),
        ..Default::default()
    };
    let e = m.create_app(&spec).await.unwrap_err();
    assert!(matches!(e, ManageError::InsufficientScope(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Insufficient scope, expected any of: create:clients"
    );
    let e = m.delete_app(&app.client_id).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Insufficient scope, expected any of: delete:clients"
    );
    assert_eq!(w.store.clients("default").await.unwrap().len(), 1);
    let e = m.rotate_app_secret(&app.client_id).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Insufficient scope, expected any of: update:client_keys"
    );
    // A scope for another resource does not open this one.
    let e = m
        .list_users("", None, &PageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Insufficient scope, expected any of: read:users"
    );
    // Any one of several accepted scopes is enough.
    let grants = Actor::client("mgmt", ["update:client_grants".to_owned()]);
    let m = Manager {
        actor: &grants,
        ..m
    };
    let e = m.ungrant_app(&app.client_id, "urn:none").await.unwrap_err();
    assert!(matches!(e, ManageError::InsufficientScope(_)));
    assert!(matches!(
        m.grant_app(&app.client_id, "urn:none", &[])
            .await
            .unwrap_err(),
        ManageError::NotFound(_)
    ));
    // The operator holds every scope.
    let op = Manager::operator(&w.store, &w.clock, &w.master, "default");
    op.delete_app(&app.client_id).await.unwrap();
    assert!(w.store.clients("default").await.unwrap().is_empty());
}
