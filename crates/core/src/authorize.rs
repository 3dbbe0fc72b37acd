//! Validation of an authorization request (RFC 6749 §4.1.1, §4.2.1; OpenID Connect Core §3;
//! OAuth 2.0 Multiple Response Type Encoding Practices; RFC 7636 PKCE). Until the client and
//! its `redirect_uri` are proven, errors are shown on a page and never redirected (RFC 6749
//! §4.1.2.1); after that they go back to the client.

use std::collections::HashMap;

use crate::{
    ErrorCode, OAuthError, Store,
    model::{Client, GrantType, ResourceServer, Tenant},
    pkce::{PkceMethod, pkce_well_formed},
    scope,
};

/// Which of `code`, `token`, `id_token` the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseType {
    pub code: bool,
    pub token: bool,
    pub id_token: bool,
}

impl ResponseType {
    /// Any non-empty, repeat-free combination of the three, in any order.
    pub fn parse(s: &str) -> Option<Self> {
        let mut rt = Self {
            code: false,
            token: false,
            id_token: false,
        };
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            let slot = match part {
                "code" => &mut rt.code,
                "token" => &mut rt.token,
                "id_token" => &mut rt.id_token,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
        }
        (rt.code || rt.token || rt.id_token).then_some(rt)
    }

    /// Does a token travel through the browser (implicit or hybrid)?
    pub fn front_channel_tokens(self) -> bool {
        self.token || self.id_token
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
    /// Auth0's `web_message`: a page that posts the response to the opener or parent window
    /// (auth0-spa-js's silent authentication), for origins in the app's allowed web origins.
    WebMessage,
}

impl ResponseMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            "web_message" => Some(Self::WebMessage),
            _ => None,
        }
    }

    /// `query` for `code` alone, `fragment` for anything that carries a token.
    pub fn default_for(rt: ResponseType) -> Self {
        if rt.front_channel_tokens() {
            Self::Fragment
        } else {
            Self::Query
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    None,
    Login,
    Consent,
}

/// A validated request, ready for the login step.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client: Client,
    pub redirect_uri: String,
    /// `redirect_uri` was sent (not defaulted): the code exchange must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The audience asked for (or the tenant default), as given.
    pub audience: Option<String>,
    /// The API it names; `None` means an opaque token.
    pub api: Option<ResourceServer>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// RFC 7636 challenge and its method (`S256`, or `plain` where the app allows it).
    pub code_challenge: Option<(String, PkceMethod)>,
}

impl AuthorizeRequest {
    /// An error sent back to this request's (proven) redirect URI.
    pub fn error(&self, error: OAuthError) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            mode: self.response_mode,
            state: self.state.clone(),
            error,
        }
    }
}

#[derive(Debug, Clone)]
pub enum AuthorizeError {
    /// The client or redirect URI is not proven: render an error page, never redirect.
    Page(OAuthError),
    /// Send the error back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        mode: ResponseMode,
        state: Option<String>,
        error: OAuthError,
    },
}

/// Parses `application/x-www-form-urlencoded` parameters (an `/authorize` query or form, the
/// login form); a repeated one is an error (RFC 6749 §3.1).
pub fn form_params(raw: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "The parameter '{}' is repeated.",
                k.escape_default()
            )));
        }
    }
    Ok(out)
}

/// The legacy hosted-page link (`/login?client=…&protocol=oauth2&…`) as `/authorize` parameters.
pub fn from_legacy_login(mut params: HashMap<String, String>) -> HashMap<String, String> {
    if let Some(client) = params.remove("client") {
        params.entry("client_id".into()).or_insert(client);
    }
    params.remove("protocol");
    params
}

fn get<'a>(p: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

/// Validates the parameters, in the order that decides where an error may go. Applications and
/// APIs are read through the node's configuration snapshot (`config`), as the token endpoint
/// reads them, so that both see the same configuration.
pub async fn validate(
    store: &dyn Store,
    config: Option<&crate::context::ConfigCache>,
    tenant: &Tenant,
    p: &HashMap<String, String>,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let page = |e: OAuthError| AuthorizeError::Page(e);

    // 1. The client and its redirect URI (exact string match against the callbacks).
    let client_id = get(p, "client_id").ok_or_else(|| {
        page(OAuthError::invalid_request(
            "Missing required parameter: client_id",
        ))
    })?;
    let client = crate::context::config::client(store, config, &tenant.id, client_id)
        .await
        .map_err(|e| page(e.into()))?
        .ok_or_else(|| {
            page(OAuthError::invalid_request(format!(
                "Unknown client: no application has the client_id '{client_id}'."
            )))
        })?;
    if client.disabled {
        return Err(page(OAuthError::new(
            crate::ErrorCode::UnauthorizedClient,
            "This application is disabled.",
        )));
    }
    let redirect_uri = match get(p, "redirect_uri") {
        Some(r) if client_redirect_allowed(&client, r) => r.to_owned(),
        Some(r) => {
            return Err(page(OAuthError::invalid_request(format!(
                "The redirect_uri '{r}' is not one of the allowed callback URLs of the application \
                 {} (they must match exactly; only a native app's loopback IP callback may use \
                 another port).",
                client.client_id
            ))));
        }
        None if client.callbacks.len() == 1 => client.callbacks[0].clone(),
        None => {
            return Err(page(OAuthError::invalid_request(
                "Missing required parameter: redirect_uri",
            )));
        }
    };

    // From here on, errors go back to the client.
    let state = get(p, "state").map(str::to_owned);
    let requested_mode = get(p, "response_mode").map(|m| (m, ResponseMode::parse(m)));
    let redirect = |mode: ResponseMode, error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        mode,
        state: state.clone(),
        error,
    };
    // An error before the response mode is settled goes back the way the client asked, but
    // `web_message` only to an origin the application allows (the page posts to any window
    // that opened it); otherwise by query.
    let web_message_allowed =
        web_origin(&redirect_uri).is_some_and(|o| client.allows_web_origin(&o));
    let fallback_mode = match requested_mode.and_then(|(_, m)| m) {
        Some(ResponseMode::WebMessage) if !web_message_allowed => ResponseMode::Query,
        Some(m) => m,
        None => ResponseMode::Query,
    };

    // 2. What is asked for, and how it comes back.
    let rt_param = get(p, "response_type").ok_or_else(|| {
        redirect(
            fallback_mode,
            OAuthError::invalid_request("Missing required parameter: response_type"),
        )
    })?;
    let response_type = ResponseType::parse(rt_param).ok_or_else(|| {
        redirect(
            fallback_mode,
            OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!("Unsupported response_type: {rt_param}"),
            ),
        )
    })?;
    let default_mode = ResponseMode::default_for(response_type);
    let response_mode = match requested_mode {
        None => default_mode,
        Some((m, None)) => {
            return Err(redirect(
                default_mode,
                OAuthError::invalid_request(format!("Unsupported response_mode: {m}")),
            ));
        }
        Some((_, Some(ResponseMode::Query))) if response_type.front_channel_tokens() => {
            return Err(redirect(
                default_mode,
                OAuthError::invalid_request(
                    "response_mode=query cannot carry tokens; use fragment or form_post.",
                ),
            ));
        }
        Some((_, Some(m))) => m,
    };
    if response_mode == ResponseMode::WebMessage && !web_message_allowed {
        return Err(page(OAuthError::invalid_request(
            "response_mode=web_message needs the redirect_uri's origin in the application's \
             allowed web origins (tessera apps update CLIENT_ID --web-origins ORIGIN).",
        )));
    }
    let fail = |e: OAuthError| redirect(response_mode, e);

    // 3. The client may use this flow.
    let needs = if response_type.front_channel_tokens() {
        GrantType::Implicit
    } else {
        GrantType::AuthorizationCode
    };
    if !client.allows_grant(needs)
        || (response_type.code && !client.allows_grant(GrantType::AuthorizationCode))
    {
        return Err(fail(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "The application is not allowed the grant type '{}'.",
                needs.as_str()
            ),
        )));
    }

    // Request objects are not supported: say so rather than drop their parameters (OIDC Core
    // §6.1, §6.2).
    if get(p, "request").is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "The request parameter (a request object) is not supported: send plain parameters.",
        )));
    }
    if get(p, "request_uri").is_some() {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "The request_uri parameter is not supported: send plain parameters.",
        )));
    }

    // 4. Scopes, nonce.
    let scopes = scope::parse(get(p, "scope").unwrap_or(""))
        .map_err(|e| fail(OAuthError::new(ErrorCode::InvalidScope, e)))?;
    let openid = scopes.iter().any(|s| s == "openid");
    if response_type.id_token && !openid {
        return Err(fail(OAuthError::invalid_request(
            "response_type id_token needs the openid scope.",
        )));
    }
    let nonce = get(p, "nonce").map(str::to_owned);
    if response_type.id_token && nonce.is_none() {
        return Err(fail(OAuthError::invalid_request(
            "Missing required parameter: nonce (required when an ID token comes from the authorization endpoint).",
        )));
    }

    // 5. PKCE (RFC 7636 §4.3): S256 only; public clients must use it for codes (RFC 9700 §2.1.1).
    let code_challenge = match (get(p, "code_challenge"), get(p, "code_challenge_method")) {
        (None, Some(_)) => {
            return Err(fail(OAuthError::invalid_request(
                "code_challenge_method without code_challenge.",
            )));
        }
        (None, None) => None,
        (Some(c), method) => {
            // RFC 7636 §4.3: no method means plain.
            let method = match method {
                Some("S256") => PkceMethod::S256,
                Some("plain") | None if client.allow_pkce_plain => PkceMethod::Plain,
                _ => {
                    return Err(fail(OAuthError::invalid_request(
                        "Only code_challenge_method=S256 is accepted (this application does not allow plain).",
                    )));
                }
            };
            if !pkce_well_formed(c) {
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].",
                )));
            }
            Some((c.to_owned(), method))
        }
    };
    if response_type.code && client.is_public() && code_challenge.is_none() {
        return Err(fail(OAuthError::invalid_request(
            "Public applications must use PKCE: send code_challenge with S256.",
        )));
    }

    // 6. prompt, max_age.
    let mut prompt = Vec::new();
    for v in get(p, "prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match v {
            "none" => prompt.push(Prompt::None),
            "login" => prompt.push(Prompt::Login),
            "consent" => prompt.push(Prompt::Consent),
            _ => {} // select_account and unknown values are ignored.
        }
    }
    if prompt.contains(&Prompt::None) && prompt.len() > 1 {
        return Err(fail(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values.",
        )));
    }
    let max_age = match get(p, "max_age") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            fail(OAuthError::invalid_request(
                "max_age must be a non-negative number of seconds.",
            ))
        })?),
    };

    // 7. The audience: none or the userinfo audience means an opaque token; otherwise an API.
    let audience = get(p, "audience").or(tenant.default_audience.as_deref());
    let api = crate::issue::api_for_audience(store, config, tenant, audience)
        .await
        .map_err(fail)?;

    Ok(AuthorizeRequest {
        client,
        redirect_uri,
        redirect_uri_given: get(p, "redirect_uri").is_some(),
        response_type,
        response_mode,
        scopes,
        state,
        nonce,
        audience: audience.map(str::to_owned),
        api,
        prompt,
        max_age,
        login_hint: get(p, "login_hint").map(str::to_owned),
        code_challenge,
    })
}

/// How the authorization response reaches the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A 302/303 to this URL.
    Redirect(String),
    /// An auto-submitting HTML form posting `fields` to `action` (OAuth 2.0 Form Post Response Mode).
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
    },
    /// A page posting `{type: "authorization_response", response: fields}` to `origin`.
    WebMessage {
        origin: String,
        fields: Vec<(String, String)>,
    },
}

/// The origin (`scheme://host[:port]`) of an http(s) URL.
pub fn web_origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.origin().ascii_serialization())
}

/// Encodes response parameters for `mode`, adding `iss` (RFC 9207 §2). A query already in the
/// redirect URI is kept (RFC 6749 §3.1.2); the fragment replaces any fragment.
pub fn deliver(
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
    issuer: &str,
) -> Delivery {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.push(("iss".into(), issuer.to_owned()));
    match mode {
        ResponseMode::FormPost => Delivery::FormPost {
            action: redirect_uri.to_owned(),
            fields: all,
        },
        ResponseMode::WebMessage => Delivery::WebMessage {
            origin: web_origin(redirect_uri).unwrap_or_default(),
            fields: all,
        },
        ResponseMode::Query | ResponseMode::Fragment => {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&all)
                .finish();
            let (base, _) = redirect_uri.split_once('#').unwrap_or((redirect_uri, ""));
            let url = if mode == ResponseMode::Fragment {
                format!("{base}#{encoded}")
            } else if base.contains('?') {
                format!("{base}&{encoded}")
            } else {
                format!("{base}?{encoded}")
            };
            Delivery::Redirect(url)
        }
    }
}

impl AuthorizeError {
    /// The error as the client receives it: `error`, `error_description`, `state`, `iss` back to
    /// the proven redirect URI, or `None` for an error that must be shown as a page.
    pub fn delivery(&self, issuer: &str) -> Option<Delivery> {
        match self {
            Self::Page(_) => None,
            Self::Redirect {
                redirect_uri,
                mode,
                state,
                error,
            } => {
                let mut params = vec![
                    ("error", error.code.as_str()),
                    ("error_description", error.description.as_str()),
                ];
                if let Some(s) = state {
                    params.push(("state", s.as_str()));
                }
                Some(deliver(redirect_uri, *mode, &params, issuer))
            }
        }
    }

    pub fn error(&self) -> &OAuthError {
        match self {
            Self::Page(e) | Self::Redirect { error: e, .. } => e,
        }
    }
}

mod respond;
pub use respond::{Authorized, SignedIn, decide, respond};

/// Is `given` one of the registered callbacks? Exact string comparison (RFC 9700 §4.1.3), with
/// one exception: a callback on a loopback IP literal over http (`http://127.0.0.1/cb`,
/// `http://[::1]/cb`) accepts any port, since a native app listens on whatever port the system
/// gives it (RFC 8252 §7.3; only native apps get it, see [`client_redirect_allowed`]). Even
/// then the rest of the string must be the registered one
/// exactly: the comparison is textual, not between parsed URLs, so no normalisation (case,
/// dot segments, percent-encoding, numeric host forms) can make another URL match.
pub fn redirect_uri_allowed(callbacks: &[String], given: &str) -> bool {
    callbacks
        .iter()
        .any(|c| c == given || loopback_with_other_port(c, given))
}

/// Whether `client` may be answered at `given`: one of its callbacks exactly, or, for a native
/// app only, its loopback IP callback on another port ([`redirect_uri_allowed`], RFC 8252
/// §7.3). RFC 9700 §4.1.3 allows no other exception: a web app's loopback callback on another
/// port could be any local process.
pub fn client_redirect_allowed(client: &Client, given: &str) -> bool {
    if client.app_type == crate::model::AppType::Native {
        redirect_uri_allowed(&client.callbacks, given)
    } else {
        client.callbacks.iter().any(|c| c == given)
    }
}

fn loopback_with_other_port(registered: &str, given: &str) -> bool {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let is_loopback_http = |u: &url::Url| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
                Some(url::Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
                _ => false,
            }
    };
    let (Ok(mut expected), Ok(parsed)) = (url::Url::parse(registered), url::Url::parse(given))
    else {
        return false;
    };
    // The registered callback itself must be written in the form the parser prints, so that
    // "the registered string with another port" has one spelling.
    if expected.as_str() != registered || !is_loopback_http(&expected) {
        return false;
    }
    let Some(port) = parsed.port() else {
        return false;
    };
    if expected.set_port(Some(port)).is_err() {
        return false;
    }
    expected.as_str() == given
}

#[cfg(test)]
mod tests;
