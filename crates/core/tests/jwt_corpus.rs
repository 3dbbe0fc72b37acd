//! Hostile JWTs handed back to Tessera (issue 7): a bearer JWT at `/userinfo` and an
//! `id_token_hint` at `/oidc/logout`. Each token is what a known attack on JWT libraries sends:
//! `alg: none`, HS256 keyed with the public key, an unknown or missing `kid`, an embedded `jwk`
//! or a `jku` pointing elsewhere, a forged payload, expiry and claim tricks. Every one is
//! refused; the untouched token is accepted, so the corpus cannot pass by refusing everything.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};
use tessera_core::manage::Manager;
use tessera_core::{
    Clock, ErrorCode, FixedClock,
    context::Ctx,
    keys::{KeyRing, MasterKey, PrivateKey, Signer, sign_compact},
    logout, manage,
    memory::MemoryStore,
    model::{SigningAlg, Tenant},
    secret::Secret,
    store::KeyStore,
    userinfo,
};

const NOW: i64 = 1_800_000_000;

struct W {
    store: MemoryStore,
    master: MasterKey,
    clock: FixedClock,
    keys: KeyRing,
    tenant: Tenant,
    client_id: String,
    user_id: String,
}

async fn world() -> W {
    let store = MemoryStore::new();
    let master = MasterKey::generate();
    let clock = FixedClock::new(NOW);
    let tenant = manage::ensure_tenant(
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
    for alg in SigningAlg::ASYMMETRIC {
        manage::ensure_signing_key(&store, &master, &clock, "default", alg)
            .await
            .unwrap();
    }
    let keys = KeyRing::load(
        &store.signing_keys("default").await.unwrap(),
        &master,
        clock.now(),
    )
    .unwrap();
    let spec = manage::AppSpec {
        name: Some("spa".into()),
        app_type: Some("spa".into()),
        callbacks: Some(vec!["https://app.example.com/callback".into()]),
        logout_urls: Some(vec!["https://app.example.com/bye".into()]),
        ..Default::default()
    };
    let (app, _) = Manager::operator(&store, &clock, &master, "default")
        .create_app(&spec)
        .await
        .unwrap();
    let user = Manager::operator(&store, &clock, &master, "default")
        .create_user(
            &manage::UserSpec {
                email: Some("ann@example.com".into()),
                password: Some(Secret::new("correct horse")),
                ..Default::default()
            },
            |_| "unused".into(),
        )
        .await
        .unwrap();
    W {
        store,
        master,
        clock,
        keys,
        tenant,
        client_id: app.client_id,
        user_id: user.user_id,
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

    /// The claims of a genuine access token for `/userinfo`.
    fn access_claims(&self) -> Value {
        json!({
            "iss": self.tenant.issuer,
            "sub": self.user_id,
            "aud": [self.tenant.userinfo_audience()],
            "azp": self.client_id,
            "iat": NOW,
            "exp": NOW + 3600,
            "scope": "openid profile",
        })
    }

    /// The claims of a genuine ID token.
    fn id_claims(&self) -> Value {
        json!({
            "iss": self.tenant.issuer,
            "sub": self.user_id,
            "aud": self.client_id,
            "iat": NOW,
            "exp": NOW + 3600,
            "sid": "s-1",
        })
    }

    fn key(&self, alg: SigningAlg) -> (&str, &PrivateKey) {
        self.keys.signer(alg).unwrap()
    }

    /// Signed by the tenant's key of `alg`, with its `kid`: a token Tessera would accept.
    fn genuine(&self, alg: SigningAlg, claims: &Value) -> String {
        let (kid, key) = self.key(alg);
        sign_compact(Signer::Key(key), "JWT", Some(kid), claims).unwrap()
    }
}

/// `header.payload.signature` with the header and payload as given, signed by `sign`.
fn craft(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let signed = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let sig = sign(signed.as_bytes());
    format!("{signed}.{}", B64.encode(sig))
}

fn hmac(secret: &[u8], msg: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::sign(&key, msg).as_ref().to_vec()
}

/// Tokens that must be refused wherever Tessera reads a JWT it signed, built on `claims` and
/// `bad_claims` (claims that are wrong for the place the token is used).
fn hostile(w: &W, claims: &Value, bad_claims: &[(&str, Value)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let (rs_kid, rs_key) = w.key(SigningAlg::RS256);
    let (es_kid, _) = w.key(SigningAlg::ES256);
    let attacker = PrivateKey::generate(SigningAlg::RS256).unwrap();
    let attacker_ec = PrivateKey::generate(SigningAlg::ES256).unwrap();
    let good = w.genuine(SigningAlg::RS256, claims);
    let (good_signed, good_sig) = good.rsplit_once('.').unwrap();

    // alg: none, in its spellings, with and without a signature.
    for alg in ["none", "None", "NONE", "nOnE", ""] {
        let h = json!({"alg": alg, "typ": "JWT", "kid": rs_kid});
        out.push((
            format!("alg {alg:?} unsigned"),
            craft(&h, claims, |_| vec![]),
        ));
        let payload = good_signed.split_once('.').unwrap().1;
        out.push((
            format!("alg {alg:?} with a real signature"),
            format!("{}.{payload}.{good_sig}", B64.encode(h.to_string())),
        ));
    }
    out.push((
        "no alg".into(),
        craft(&json!({"typ": "JWT", "kid": rs_kid}), claims, |m| {
            rs_key.sign(m)
        }),
    ));
    out.push((
        "alg as a number".into(),
        craft(&json!({"alg": 256, "kid": rs_kid}), claims, |m| {
            rs_key.sign(m)
        }),
    ));
    // HS256 keyed with what is public: the key's bytes, its JWK, the whole JWKS.
    let public_jwk = rs_key.public_jwk();
    for (what, secret) in [
        ("public key bytes", rs_key.public_key_bytes()),
        ("public JWK", public_jwk.clone().into_bytes()),
        ("JWKS document", w.keys.jwks_json().as_bytes().to_vec()),
        ("kid", rs_kid.as_bytes().to_vec()),
        ("empty secret", vec![]),
    ] {
        for alg in ["HS256", "HS384", "HS512"] {
            let h = json!({"alg": alg, "typ": "JWT", "kid": rs_kid});
            out.push((
                format!("{alg} keyed with the {what}"),
                craft(&h, claims, |m| hmac(&secret, m)),
            ));
        }
    }
    // The right key's kid with another algorithm's name.
    let h = json!({"alg": "ES256", "typ": "JWT", "kid": rs_kid});
    out.push((
        "ES256 header on the RS256 kid".into(),
        craft(&h, claims, |m| rs_key.sign(m)),
    ));
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": es_kid});
    out.push((
        "RS256 header on the ES256 kid".into(),
        craft(&h, claims, |m| rs_key.sign(m)),
    ));
    let h = json!({"alg": "rs256", "typ": "JWT", "kid": rs_kid});
    out.push((
        "lower-case alg".into(),
        craft(&h, claims, |m| rs_key.sign(m)),
    ));
    let h = json!({"alg": "PS256", "typ": "JWT", "kid": rs_kid});
    out.push((
        "PS256 on an RS256 key".into(),
        craft(&h, claims, |m| rs_key.sign(m)),
    ));
    // Keys Tessera does not hold.
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": "no-such-kid"});
    out.push((
        "unknown kid".into(),
        craft(&h, claims, |m| attacker.sign(m)),
    ));
    let h = json!({"alg": "RS256", "typ": "JWT"});
    out.push(("no kid".into(), craft(&h, claims, |m| rs_key.sign(m))));
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": rs_kid.to_uppercase()});
    out.push((
        "kid in another case".into(),
        craft(&h, claims, |m| rs_key.sign(m)),
    ));
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": ["a", rs_kid]});
    out.push((
        "kid as an array".into(),
        craft(&h, claims, |m| rs_key.sign(m)),
    ));
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": attacker.kid()});
    out.push((
        "attacker's key and kid".into(),
        craft(&h, claims, |m| attacker.sign(m)),
    ));
    let jwk: Value = serde_json::from_str(&attacker.public_jwk()).unwrap();
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": rs_kid, "jwk": jwk});
    out.push((
        "embedded jwk, tenant kid".into(),
        craft(&h, claims, |m| attacker.sign(m)),
    ));
    let h = json!({"alg": "RS256", "typ": "JWT", "jwk": jwk});
    out.push((
        "embedded jwk, no kid".into(),
        craft(&h, claims, |m| attacker.sign(m)),
    ));
    let ec_jwk: Value = serde_json::from_str(&attacker_ec.public_jwk()).unwrap();
    let h = json!({"alg": "ES256", "typ": "JWT", "kid": es_kid, "jwk": ec_jwk});
    out.push((
        "embedded EC jwk, tenant kid".into(),
        craft(&h, claims, |m| attacker_ec.sign(m)),
    ));
    for jku in [
        "https://evil.example/jwks.json",
        "https://id.example.com/.well-known/jwks.json",
    ] {
        let h = json!({"alg": "RS256", "typ": "JWT", "kid": rs_kid, "jku": jku});
        out.push((
            format!("jku {jku}"),
            craft(&h, claims, |m| attacker.sign(m)),
        ));
    }
    let h =
        json!({"alg": "RS256", "typ": "JWT", "kid": rs_kid, "x5u": "https://evil.example/cert"});
    out.push(("x5u".into(), craft(&h, claims, |m| attacker.sign(m))));
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": "../../../../dev/null"});
    out.push(("kid path traversal".into(), craft(&h, claims, |_| vec![])));
    let h = json!({"alg": "RS256", "typ": "JWT", "kid": "x' OR '1'='1"});
    out.push((
        "kid SQL injection".into(),
        craft(&h, claims, |m| attacker.sign(m)),
    ));
    // A genuine signature over other claims, and signature surgery.
    let mut forged = claims.clone();
    forged["sub"] = "auth0|someone-else".into();
    let payload = B64.encode(forged.to_string());
    let header = good_signed.split_once('.').unwrap().0;
    out.push((
        "forged payload, real signature".into(),
        format!("{header}.{payload}.{good_sig}"),
    ));
    out.push(("signature stripped".into(), format!("{good_signed}.")));
    out.push(("no signature part".into(), good_signed.to_owned()));
    let mut sig = B64.decode(good_sig).unwrap();
    sig[0] ^= 1;
    out.push((
        "one signature bit flipped".into(),
        format!("{good_signed}.{}", B64.encode(&sig)),
    ));
    out.push((
        "signature truncated".into(),
        format!("{good_signed}.{}", &good_sig[..good_sig.len() / 2]),
    ));
    out.push((
        "signature in standard base64".into(),
        format!(
            "{good_signed}.{}",
            base64::engine::general_purpose::STANDARD.encode(B64.decode(good_sig).unwrap())
        ),
    ));
    out.push(("JWE-shaped (five parts)".into(), format!("{good}.a.b")));
    out.push(("extra dot".into(), format!("{good_signed}..{good_sig}")));
    out.push((
        "header not JSON".into(),
        format!(
            "{}.{}",
            B64.encode("not json"),
            good.split_once('.').unwrap().1
        ),
    ));
    out.push((
        "payload an array".into(),
        craft(
            &json!({"alg": "RS256", "typ": "JWT", "kid": rs_kid}),
            &json!([claims]),
            |m| rs_key.sign(m),
        ),
    ));
    out.push(("empty".into(), String::new()));
    out.push(("dots only".into(), "..".into()));
    out.push((
        "huge".into(),
        format!(
            "{}.{}.{}",
            "a".repeat(100_000),
            "b".repeat(100_000),
            "c".repeat(100_000)
        ),
    ));
    // Genuine signatures over claims that are wrong here.
    for (what, edit) in bad_claims {
        let mut c = claims.clone();
        match edit {
            Value::Null if what.starts_with("no ") => {
                c.as_object_mut().unwrap().remove(&what[3..]);
            }
            v => {
                let (name, _) = what.split_once(' ').unwrap_or((what, ""));
                c[name] = v.clone();
            }
        }
        out.push((
            format!("genuine signature, {what}"),
            w.genuine(SigningAlg::ES256, &c),
        ));
    }
    out
}

#[tokio::test]
async fn userinfo_refuses_every_hostile_jwt() {
    let w = world().await;
    let claims = w.access_claims();
    let good = w.genuine(SigningAlg::RS256, &claims);
    assert!(
        userinfo::userinfo(&w.ctx(), &good).await.is_ok(),
        "the genuine token works"
    );
    assert!(
        userinfo::userinfo(&w.ctx(), &w.genuine(SigningAlg::EdDSA, &claims))
            .await
            .is_ok(),
        "with any of the tenant's keys"
    );
    let bad_claims = [
        ("exp expired", json!(NOW - 1)),
        ("exp now", json!(NOW)),
        ("exp as a string", json!((NOW + 3600).to_string())),
        ("exp as a float", json!(1.8e9 + 3600.5)),
        ("exp null", Value::Null),
        ("no exp", Value::Null),
        ("iss other", json!("https://evil.example/")),
        ("iss without the slash", json!("https://id.example.com")),
        ("iss as an array", json!(["https://id.example.com/"])),
        ("no iss", Value::Null),
        ("aud an API only", json!("https://api.example.com")),
        ("aud the client", json!(w.client_id)),
        ("aud lookalike", json!(["https://id.example.com/userinfo/"])),
        ("no aud", Value::Null),
        ("sub another user", json!("auth0|nobody")),
        ("sub as a number", json!(42)),
        ("azp unknown app", json!("no-such-client")),
        ("scope without openid", json!("profile email")),
    ];
    let corpus = hostile(&w, &claims, &bad_claims);
    assert!(corpus.len() >= 60, "{} tokens", corpus.len());
    for (what, token) in &corpus {
        match userinfo::userinfo(&w.ctx(), token).await {
            Ok(info) => panic!("{what}: accepted with {:?}", info.claims),
            Err(e) => assert!(
                matches!(
                    e.code,
                    ErrorCode::InvalidToken | ErrorCode::InsufficientScope
                ),
                "{what}: {e:?}"
            ),
        }
    }
}

#[tokio::test]
async fn logout_refuses_every_forged_id_token_hint() {
    let w = world().await;
    let claims = w.id_claims();
    let good = w.genuine(SigningAlg::RS256, &claims);
    let bye = Some("https://app.example.com/bye");
    let ok = logout::oidc(&w.ctx(), Some(&good), bye, None, None)
        .await
        .unwrap();
    assert_eq!(ok.sid.as_deref(), Some("s-1"));
    // RP-Initiated Logout §2: an expired hint is still a hint.
    let mut expired = claims.clone();
    expired["exp"] = json!(NOW - 86_400);
    assert!(
        logout::oidc(
            &w.ctx(),
            Some(&w.genuine(SigningAlg::ES256, &expired)),
            bye,
            None,
            None
        )
        .await
        .is_ok()
    );
    let bad_claims = [
        ("iss other", json!("https://evil.example/")),
        ("iss without the slash", json!("https://id.example.com")),
        ("no iss", Value::Null),
        ("aud another app", json!("someone-elses-app")),
    ];
    for (what, token) in hostile(&w, &claims, &bad_claims) {
        let r = logout::oidc(&w.ctx(), Some(&token), bye, None, None).await;
        let e = r.err().unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{what}: {e:?}");
    }
}
