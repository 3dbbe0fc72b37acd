//! The user grants against the in-memory store and a fixed clock: what only time can show
//! (expired codes, refresh-token reuse intervals and lifetimes, session expiry).

use std::collections::HashMap;

use super::*;
use crate::manage::Manager;
use crate::store::{KeyStore, TenantStore};
use crate::{
    Clock, FixedClock,
    authorize::{self, Delivery, SignedIn},
    keys::{KeyRing, MasterKey},
    login, manage,
    memory::MemoryStore,
    model::{SigningAlg, Tenant, User},
    secret::Secret,
};

const CB: &str = "https://app.example.com/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct W {
    store: MemoryStore,
    master: MasterKey,
    clock: FixedClock,
    keys: KeyRing,
    tenant: Tenant,
    spa: String,
    user: User,
}

async fn world(edit: impl FnOnce(&mut Tenant)) -> W {
    let store = MemoryStore::new();
    let master = MasterKey::generate();
    let clock = FixedClock::new(1_800_000_000);
    let mut tenant = manage::ensure_tenant(
        &store,
        &master,
        &clock,
        "default",
        Some("https://id.example.com"),
        "x",
        false,
    )
    .await
    .unwrap();
    edit(&mut tenant);
    store.update_tenant(&tenant).await.unwrap();
    manage::ensure_signing_key(&store, &master, &clock, "default", SigningAlg::RS256)
        .await
        .unwrap();
    let keys = KeyRing::load(
        &store.signing_keys("default").await.unwrap(),
        &master,
        clock.now(),
    )
    .unwrap();
    let spec = manage::AppSpec {
        name: Some("spa".into()),
        app_type: Some("spa".into()),
        callbacks: Some(vec![CB.into()]),
        ..Default::default()
    };
    let (spa, _) = Manager::operator(&store, &clock, &master, "default")
        .create_app(&spec)
        .await
        .unwrap();
    let user_spec = manage::UserSpec {
        email: Some("ann@example.com".into()),
        password: Some(Secret::new("correct horse")),
        ..Default::default()
    };
    let user = Manager::operator(&store, &clock, &master, "default")
        .create_user(&user_spec, |_| "unused".into())
        .await
        .unwrap();
    W {
        store,
        master,
        clock,
        keys,
        tenant,
        spa: spa.client_id,
        user,
    }
}

impl W {
    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            store: &self.store,
            clock: &self.clock,
            keys: &self.keys,
            master: &self.master,
            tenant: &self.tenant,
            hooks: None,
            request: Default::default(),
            scripts: None,
            config: None,
        }
    }

    /// A code for the SPA, as if the user had just signed in.
    async fn code(&self, scope: &str) -> String {
        let p: HashMap<String, String> = [
            ("client_id", self.spa.as_str()),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("scope", scope),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let req = authorize::validate(&self.store, None, &self.tenant, &p)
            .await
            .unwrap();
        let (_, session) = login::create_session(
            &self.store,
            &self.tenant,
            &self.user.user_id,
            self.clock.now(),
        )
        .await
        .unwrap();
        let who = SignedIn {
            user: self.user.clone(),
            session,
        };
        let done = authorize::respond(&self.ctx(), &req, &who).await.unwrap();
        let Delivery::Redirect(url) = done.delivery else {
            panic!("a redirect")
        };
        let query = url.split_once('?').unwrap().1;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    async fn token(&self, pairs: &[(&str, &str)]) -> Result<TokenResponse, OAuthError> {
        let mut all = vec![("client_id", self.spa.as_str())];
        all.extend_from_slice(pairs);
        let req = TokenRequest::from_pairs(
            all.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            None,
        )
        .unwrap();
        token(&self.ctx(), &req).await
    }

    async fn redeem(&self, code: &str) -> Result<TokenResponse, OAuthError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", VERIFIER),
        ])
        .await
    }

    async fn refresh(&self, rt: &str) -> Result<TokenResponse, OAuthError> {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
            .await
    }
}

#[tokio::test]
async fn codes_expire_after_60_seconds() {
    let w = world(|_| {}).await;
    let code = w.code("openid").await;
    w.clock.advance(60);
    let e = w.redeem(&code).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert!(e.description.contains("expired"), "{}", e.description);

    let code = w.code("openid").await;
    w.clock.advance(59);
    let t = w.redeem(&code).await.unwrap();
    assert!(t.id_token.is_some());
    assert!(
        t.refresh_token.is_none(),
        "no offline_access, no refresh token"
    );
}

#[tokio::test]
async fn a_reuse_interval_forgives_a_quick_retry_but_not_a_late_replay() {
    let w = world(|t| t.refresh_token_reuse_interval = 30).await;
    let t = w
        .redeem(&w.code("openid offline_access").await)
        .await
        .unwrap();
    let rt1 = t.refresh_token.unwrap();
    let rt2 = w.refresh(&rt1).await.unwrap().refresh_token.unwrap();
    w.clock.advance(10);
    let rt3 = w
        .refresh(&rt1)
        .await
        .expect("within the interval a retry works")
        .refresh_token
        .unwrap();
    assert_ne!(rt2, rt3);
    w.clock.advance(25); // 35 s after rt1 was first used
    let e = w.refresh(&rt1).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    for rt in [&rt2, &rt3] {
        assert_eq!(
            w.refresh(rt).await.unwrap_err().code,
            ErrorCode::InvalidGrant,
            "the family is revoked"
        );
    }
}

#[tokio::test]
async fn refresh_tokens_obey_idle_and_absolute_lifetimes() {
    let w = world(|t| {
        t.refresh_token_lifetime = 1000;
        t.refresh_token_idle_lifetime = 500;
    })
    .await;
    let t = w.redeem(&w.code("offline_access").await).await.unwrap();
    let mut rt = t.refresh_token.unwrap();
    // Used every 400 s: alive until the family's absolute end.
    for _ in 0..2 {
        w.clock.advance(400);
        rt = w.refresh(&rt).await.unwrap().refresh_token.unwrap();
    }
    w.clock.advance(201); // 1001 s after the login
    let e = w.refresh(&rt).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);

    // Idle for longer than the idle lifetime: expired.
    let t = w.redeem(&w.code("offline_access").await).await.unwrap();
    w.clock.advance(501);
    let e = w.refresh(&t.refresh_token.unwrap()).await.unwrap_err();
    assert!(e.description.contains("expired"), "{}", e.description);
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    let w = world(|t| {
        t.session_lifetime = 1000;
        t.session_idle_lifetime = 300;
    })
    .await;
    let (cookie, _) = login::create_session(&w.store, &w.tenant, &w.user.user_id, w.clock.now())
        .await
        .unwrap();
    let find = || login::find_session(&w.store, &w.tenant, cookie.expose(), w.clock.now());
    for _ in 0..3 {
        w.clock.advance(299);
        assert!(find().await.unwrap().is_some(), "activity keeps it alive");
    }
    w.clock.advance(299); // 1196 s: past the absolute lifetime
    assert!(find().await.unwrap().is_none());

    let (cookie, _) = login::create_session(&w.store, &w.tenant, &w.user.user_id, w.clock.now())
        .await
        .unwrap();
    w.clock.advance(301);
    let found = login::find_session(&w.store, &w.tenant, cookie.expose(), w.clock.now())
        .await
        .unwrap();
    assert!(found.is_none(), "idle too long");
}

#[tokio::test]
async fn a_replay_whose_clock_reads_before_the_first_use_is_still_a_replay() {
    // Two nodes racing across a second boundary: the loser read the clock at t - 1, the winner
    // consumed the token at t. Without a reuse interval the loser must be refused.
    let w = world(|_| {}).await;
    let t = w
        .redeem(&w.code("openid offline_access").await)
        .await
        .unwrap();
    let rt = t.refresh_token.unwrap();
    w.refresh(&rt).await.unwrap();
    w.clock.advance(-1);
    let e = w.refresh(&rt).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn cached_configuration_answers_token_requests_and_misses_ask_the_store() {
    use crate::{context::ConfigCache, store::ClientGrantStore};
    let w = world(|_| {}).await;
    let api = manage::ApiSpec {
        name: Some("api".into()),
        identifier: Some("https://api.example.com".into()),
        scopes: Some(vec!["read:x".into()]),
        ..Default::default()
    };
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .create_api(&api)
        .await
        .unwrap();
    let m2m = manage::AppSpec {
        name: Some("svc".into()),
        app_type: Some("m2m".into()),
        ..Default::default()
    };
    let (app, secret) = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .create_app(&m2m)
        .await
        .unwrap();
    let id = app.client_id.clone();
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .grant_app(&id, "https://api.example.com", &["read:x".into()])
        .await
        .unwrap();
    let cache = ConfigCache::load(&w.store, "default").await.unwrap();
    // The SPA from world(), the m2m app, the Management API, the API and the grant.
    assert_eq!(cache.len(), 5);
    assert!(cache.system_api().is_some());
    let cc = |secret: String| {
        let w = &w;
        let cache = &cache;
        let id = id.clone();
        async move {
            let ctx = Ctx {
                config: Some(cache),
                ..w.ctx()
            };
            let pairs = [
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("audience", "https://api.example.com"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
            token(&ctx, &TokenRequest::from_pairs(pairs, None).unwrap()).await
        }
    };
    let first = secret.unwrap();
    assert!(cc(first.expose().to_owned()).await.is_ok());

    // The store changes behind the cache: the cached snapshot keeps answering as of its
    // version (a node reloads it when the config version moves) ...
    let (_, second) = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .rotate_app_secret(&id)
        .await
        .unwrap();
    w.store
        .delete_client_grant(
            "default",
            &w.store.client_grants("default", &id).await.unwrap()[0].id,
        )
        .await
        .unwrap();
    assert!(cc(first.expose().to_owned()).await.is_ok());
    // ... and a reloaded one sees the change.
    let reloaded = ConfigCache::load(&w.store, "default").await.unwrap();
    let ctx = Ctx {
        config: Some(&reloaded),
        ..w.ctx()
    };
    assert!(
        ctx.client_grant(&id, "https://api.example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ctx.client(&id).await.unwrap().unwrap().client_secret_hash,
        Some(second.hash())
    );

    // What the cache does not know, the store answers: an app created after the snapshot.
    let (late, _) = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .create_app(&m2m)
        .await
        .unwrap();
    let ctx = Ctx {
        config: Some(&cache),
        ..w.ctx()
    };
    assert_eq!(
        ctx.client(&late.client_id)
            .await
            .unwrap()
            .unwrap()
            .client_id,
        late.client_id
    );
    assert!(ctx.client("no-such-client").await.unwrap().is_none());
}
