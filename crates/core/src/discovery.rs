//! The discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) and what the server
//! supports. One list, so discovery cannot drift from the code.

use serde_json::{Value, json};

use crate::model::Tenant;

/// Auth0's password grant with a connection (`realm`), what auth0-python's
/// `GetToken.login(…, realm=…)` and auth0.js send.
pub const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

/// `GET /.well-known/openid-configuration`. `password_grant`: some application of the tenant
/// allows the password grant, so `password` and `password-realm` are listed.
pub fn openid_configuration(tenant: &Tenant, password_grant: bool) -> Value {
    let mut grants = vec![
        "authorization_code",
        "implicit",
        "refresh_token",
        "client_credentials",
    ];
    if password_grant {
        grants.extend(["password", PASSWORD_REALM]);
    }
    json!({
        "issuer": tenant.issuer,
        "authorization_endpoint": tenant.endpoint("authorize"),
        "token_endpoint": tenant.endpoint("oauth/token"),
        "userinfo_endpoint": tenant.endpoint("userinfo"),
        "revocation_endpoint": tenant.endpoint("oauth/revoke"),
        "end_session_endpoint": tenant.endpoint("oidc/logout"),
        "jwks_uri": tenant.endpoint(".well-known/jwks.json"),
        "response_types_supported": [
            "code", "token", "id_token", "id_token token", "code id_token", "code token",
            "code id_token token"
        ],
        "response_modes_supported": ["query", "fragment", "form_post", "web_message"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "none"
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic", "client_secret_post", "none"
        ],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name",
            "given_name", "iat", "iss", "name", "nickname", "picture", "sub", "updated_at",
            "nonce", "sid", "at_hash", "c_hash"
        ],
        "request_uri_parameter_supported": false,
        "request_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        // No "consent": there is no consent screen yet (prompt=consent is accepted and ignored).
        "prompt_values_supported": ["none", "login"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hang_off_the_issuer() {
        let t = Tenant::new("default", "https://id.example.com", 0);
        let d = openid_configuration(&t, false);
        assert_eq!(d["issuer"], "https://id.example.com/");
        assert_eq!(d["token_endpoint"], "https://id.example.com/oauth/token");
        assert_eq!(
            d["jwks_uri"],
            "https://id.example.com/.well-known/jwks.json"
        );
        assert!(
            d["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&"client_credentials".into())
        );
    }

    #[test]
    fn the_password_grants_are_listed_only_when_an_application_allows_them() {
        let t = Tenant::new("default", "https://id.example.com", 0);
        let grants = |on| openid_configuration(&t, on)["grant_types_supported"].clone();
        assert!(
            !grants(false)
                .as_array()
                .unwrap()
                .contains(&"password".into())
        );
        assert!(
            !grants(false)
                .as_array()
                .unwrap()
                .contains(&PASSWORD_REALM.into())
        );
        assert!(
            grants(true)
                .as_array()
                .unwrap()
                .contains(&"password".into())
        );
        assert!(
            grants(true)
                .as_array()
                .unwrap()
                .contains(&PASSWORD_REALM.into())
        );
    }
}
