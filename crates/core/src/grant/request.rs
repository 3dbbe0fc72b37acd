//! A token request's parameters, from an `application/x-www-form-urlencoded` body (RFC 6749
//! §3.2) or a JSON body (what Auth0's SDKs send), plus the `Authorization` header.

use std::collections::HashMap;

use crate::OAuthError;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Default)]
pub struct TokenRequest {
    params: HashMap<String, String>,
    /// The raw `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// Names only: values include client secrets and codes.
impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("TokenRequest")
            .field("params", &names)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl TokenRequest {
    /// From form pairs. RFC 6749 §3.2: parameters must not be repeated; empty values count as
    /// absent (§3.1).
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
        authorization: Option<String>,
    ) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (k, v) in pairs {
            if v.is_empty() {
                continue;
            }
            if params.insert(k.clone(), v).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "The parameter '{}' is repeated.",
                    k.escape_default()
                )));
            }
        }
        Ok(Self {
            params,
            authorization,
        })
    }

    /// From a URL-encoded form body.
    pub fn from_form(body: &[u8], authorization: Option<String>) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        if !body.is_empty() && std::str::from_utf8(body).is_err() {
            return Err(OAuthError::invalid_request(
                "The request body is not valid UTF-8.",
            ));
        }
        Self::from_pairs(pairs, authorization)
    }

    /// From a JSON object body. Strings, numbers and booleans become parameters; `null` is
    /// absent; arrays and objects are refused.
    pub fn from_json(body: &[u8], authorization: Option<String>) -> Result<Self, OAuthError> {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
            OAuthError::invalid_request("The request body is not valid JSON.").with_cause(e)
        })?;
        let serde_json::Value::Object(map) = value else {
            return Err(OAuthError::invalid_request(
                "The request body must be a JSON object.",
            ));
        };
        let mut pairs = Vec::with_capacity(map.len());
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                _ => {
                    return Err(OAuthError::invalid_request(format!(
                        "The parameter '{}' must be a string.",
                        k.escape_default()
                    )));
                }
            };
            pairs.push((k, v));
        }
        Self::from_pairs(pairs, authorization)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::invalid_request(format!("Missing required parameter: {name}"))
        })
    }

    pub fn grant_type(&self) -> Result<&str, OAuthError> {
        self.require("grant_type")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn form_and_json_give_the_same_parameters() {
        let f = TokenRequest::from_form(
            b"grant_type=client_credentials&audience=https%3A%2F%2Fapi",
            None,
        )
        .unwrap();
        let j = TokenRequest::from_json(
            br#"{"grant_type":"client_credentials","audience":"https://api","n":1,"x":null}"#,
            None,
        )
        .unwrap();
        assert_eq!(f.get("audience"), Some("https://api"));
        assert_eq!(j.get("audience"), Some("https://api"));
        assert_eq!(j.get("n"), Some("1"));
        assert_eq!(j.get("x"), None);
    }

    #[test]
    fn repeats_bad_json_and_missing_parameters_are_invalid_requests() {
        let rep = TokenRequest::from_form(b"grant_type=a&grant_type=b", None).unwrap_err();
        assert_eq!(rep.code, ErrorCode::InvalidRequest);
        for body in [&b"{not json"[..], b"[1,2]", br#"{"scope":["a"]}"#] {
            assert_eq!(
                TokenRequest::from_json(body, None).unwrap_err().code,
                ErrorCode::InvalidRequest
            );
        }
        let empty = TokenRequest::from_form(b"grant_type=", None).unwrap();
        assert_eq!(
            empty.grant_type().unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert!(TokenRequest::from_form(b"a=%FF", None).is_ok());
    }
}
