//! The discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) and what the server
//! supports. One list, so discovery cannot drift from the code.

use serde_json::{Value, json};

use crate::model::Tenant;

/// `GET /.well-known/openid-configuration`.
pub fn openid_configuration(tenant: &Tenant) -> Value {
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
        "grant_types_supported": [
            "authorization_code", "implicit", "refresh_token", "client_credentials", "password"
        ],
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
        let d = openid_configuration(&t);
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
}
