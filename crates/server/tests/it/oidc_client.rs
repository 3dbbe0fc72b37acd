//! An independent OpenID Connect relying party, the `openidconnect` crate, against Tessera:
//! discovery, the code flow with PKCE, ID token validation (signature via the JWKS, nonce,
//! at_hash), userinfo and refresh. If the crate accepts Tessera, so will other conformant RPs.

use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
    core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims},
};

use crate::{
    browser::{Browser, CB, EMAIL, PASSWORD, callback},
    support::spawn_app,
};

#[tokio::test]
async fn the_openidconnect_crate_signs_in_verifies_and_refreshes() {
    let app = spawn_app().await;
    app.user(EMAIL, PASSWORD);
    let spa = app.spa(&[]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer()).unwrap(), &http)
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(meta, ClientId::new(spa.clone()), None)
        .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser part: the authorization URL the crate built, then the login form.
    let b = Browser::new(&app);
    let r = b.http.get(url.as_str()).send().await.unwrap();
    let loc = crate::browser::location(&r);
    assert!(loc.starts_with("/u/login"), "{loc}");
    let page = b.get(&loc).await.text().await.unwrap();
    let cb = callback(b.post_login(&page, EMAIL, PASSWORD).await).await;
    assert_eq!(&cb.params["state"], csrf.secret());
    assert_eq!(cb.params["iss"], app.issuer());

    let token = client
        .exchange_code(AuthorizationCode::new(cb.params["code"].clone()))
        .expect("token endpoint in discovery")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = token.id_token().expect("ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token validates");
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(claims.auth_time().is_some());
    let expected = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");

    let info: CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .expect("userinfo endpoint in discovery")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some(EMAIL));

    let refresh = token.refresh_token().expect("refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "rotated"
    );
    let again = refreshed.id_token().expect("an ID token on refresh");
    // A refreshed ID token carries no nonce; the crate checks the rest.
    again
        .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
        .expect("refreshed ID token validates");
}
