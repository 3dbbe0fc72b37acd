//! Browser-facing plumbing: HTML pages rendered with minijinja (autoescaped; a tenant may
//! override any template by putting a file of the same name in its override folder), cookies,
//! and the responses an authorization endpoint sends (redirect, auto-submitting form_post page,
//! error page).

use std::{net::IpAddr, path::PathBuf};

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::{Environment, Value, context};
use tessera_core::{
    OAuthError,
    authorize::Delivery,
    net::{IpNet, canonical},
};

const EMBEDDED: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "form_post.html",
        include_str!("../templates/form_post.html"),
    ),
    (
        "logged_out.html",
        include_str!("../templates/logged_out.html"),
    ),
    (
        "web_message.html",
        include_str!("../templates/web_message.html"),
    ),
    (
        "logout_confirm.html",
        include_str!("../templates/logout_confirm.html"),
    ),
    ("home.html", include_str!("../templates/home.html")),
];

/// The templates of one tenant: its override folder first, then the embedded defaults.
pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    /// `override_dir`: e.g. `<data_dir>/templates/<tenant>/`; files there replace the embedded
    /// templates of the same name (read once, at the first render).
    pub fn new(override_dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        // .html templates are autoescaped by default; say it anyway, for every name.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_loader(move |name| {
            if let Some(dir) = &override_dir
                && !name.contains(['/', '\\'])
                && !name.starts_with('.')
            {
                match std::fs::read_to_string(dir.join(name)) {
                    Ok(s) => return Ok(Some(s)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read template override {name}: {e}"),
                        ));
                    }
                }
            }
            Ok(EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| (*s).to_owned()))
        });
        Self { env }
    }

    /// Renders a page; a broken override template falls back to a plain message, logged.
    pub fn render(&self, name: &str, ctx: Value) -> String {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(template = name, error = %e, "template failed to render");
                "<!doctype html><title>Error</title><p>This page could not be shown.</p>".into()
            }
        }
    }

    /// An HTML page with the headers every hosted page carries.
    pub fn page(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        html(status, self.render(name, ctx), &[])
    }

    /// A page whose form, once posted, redirects to one of `callbacks`: browsers apply the
    /// CSP `form-action` to that redirect too, so the callbacks' origins are allowed.
    pub fn form_page(
        &self,
        status: StatusCode,
        name: &str,
        ctx: Value,
        callbacks: &[String],
    ) -> Response {
        html(status, self.render(name, ctx), callbacks)
    }

    /// The error page for a request that cannot be sent back to the application.
    pub fn error_page(&self, e: &OAuthError) -> Response {
        self.error_page_titled(e, "This sign-in request is not valid")
    }

    /// [`Pages::error_page`] with another heading (a sign-out request, say).
    pub fn error_page_titled(&self, e: &OAuthError, heading: &str) -> Response {
        tracing::info!(error = e.code.as_str(), description = %e.description, cause = ?e.cause, "authorization refused with an error page");
        use tessera_core::ErrorCode;
        let (status, title) = match e.code {
            ErrorCode::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, heading),
            ErrorCode::TooManyRequests | ErrorCode::TooManyAttempts => {
                (StatusCode::TOO_MANY_REQUESTS, "Too many sign-in attempts")
            }
            _ => (StatusCode::BAD_REQUEST, heading),
        };
        let mut r = self.page(
            status,
            "error.html",
            context! {
                title => title,
                description => e.description,
                code => e.code.as_str(),
            },
        );
        if let Some(s) = e.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, s.into());
        }
        r
    }

    /// Sends an authorization response: a redirect, or the auto-submitting form of
    /// `response_mode=form_post`.
    pub fn deliver(&self, d: &Delivery) -> Response {
        match d {
            Delivery::Redirect(url) => {
                let mut r = Redirect::to(url).into_response();
                no_store(r.headers_mut());
                r
            }
            Delivery::FormPost { action, fields } => {
                let body = self.render(
                    "form_post.html",
                    context! { action => action, fields => fields },
                );
                let mut r = html(StatusCode::OK, body, &[]);
                // The one page that needs a script: the inline auto-submit.
                r.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'none'; script-src 'unsafe-inline'; frame-ancestors 'none'",
                    ),
                );
                r
            }
            Delivery::WebMessage { origin, fields } => {
                let response: std::collections::BTreeMap<&str, &str> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let body = self.render(
                    "web_message.html",
                    context! { origin => origin, response => response },
                );
                let mut r = html(StatusCode::OK, body, &[]);
                let h = r.headers_mut();
                // Framed by the application's page (its origin is an allowed web origin).
                h.remove(header::X_FRAME_OPTIONS);
                let csp = format!(
                    "default-src 'none'; script-src 'unsafe-inline'; frame-ancestors {origin}"
                );
                if let Ok(v) = HeaderValue::from_str(&csp) {
                    h.insert(header::CONTENT_SECURITY_POLICY, v);
                }
                r
            }
        }
    }
}

/// A CSP source for the origin of `url`: `https://host:port` for web URLs, `scheme:` for an
/// app's custom scheme. `None` for anything unparsable.
fn csp_source(url: &str) -> Option<String> {
    let source = match tessera_core::authorize::web_origin(url) {
        Some(origin) => origin,
        None => format!("{}:", url::Url::parse(url).ok()?.scheme()),
    };
    // Keep the header well-formed whatever was registered.
    source
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        .then_some(source)
}

fn html(status: StatusCode, body: String, form_targets: &[String]) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    let h = r.headers_mut();
    no_store(h);
    let mut form_action = String::from("'self'");
    for source in form_targets.iter().filter_map(|u| csp_source(u)) {
        if !form_action.split(' ').any(|s| s == source) {
            form_action.push(' ');
            form_action.push_str(&source);
        }
    }
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).unwrap_or_else(|_| {
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
        }),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

pub fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// CORS for `/oauth/token` and `/userinfo` (never `/authorize`): echoes the request's `Origin`
/// when `allowed` accepts it. Always `Vary: Origin`, since the answer depends on it.
pub fn cors(resp: &mut Response, headers: &HeaderMap, allowed: impl FnOnce(&str) -> bool) {
    let h = resp.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && allowed(origin)
        && let Ok(v) = HeaderValue::from_str(origin)
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
}

/// Answers a CORS preflight (`OPTIONS`) for an endpoint taking `methods`: 204 with the allowed
/// methods and headers when some application allows the origin, else 403 without them.
pub fn preflight(
    st: &crate::state::AppState,
    headers: &HeaderMap,
    methods: &'static str,
) -> Response {
    let snap = st.snapshot();
    let mut resp = StatusCode::NO_CONTENT.into_response();
    cors(&mut resp, headers, |o| snap.config.allows_web_origin(o));
    let h = resp.headers_mut();
    if h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, Auth0-Client"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
    } else {
        *resp.status_mut() = StatusCode::FORBIDDEN;
    }
    resp
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str, secure: bool) -> Option<String> {
    let name = cookie_name(name, secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name.as_ref())
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// A cookie's name as sent: over https (`secure`) with the `__Host-` prefix, which browsers
/// accept only from a secure origin with `Path=/` and no `Domain`, so neither a sibling
/// subdomain nor a plain-http page can set or shadow it.
pub fn cookie_name(name: &str, secure: bool) -> std::borrow::Cow<'_, str> {
    if secure {
        format!("__Host-{name}").into()
    } else {
        name.into()
    }
}

/// Whether the tenant is served over https: its cookies are then `Secure` and `__Host-`.
pub fn https(tenant: &tessera_core::model::Tenant) -> bool {
    tenant.issuer.starts_with("https:")
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, and over https (`secure`)
/// `Secure` with the `__Host-` name prefix. `max_age: Some(0)` deletes the cookie; `None`
/// makes a browser-session cookie.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let name = cookie_name(name, secure);
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        s.push_str("; Secure");
    }
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    // Names and values are ours (base64url / hex), so this is always a valid header.
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// What scripts see of this request as `event.request`.
/// Parses the `trusted_proxies` setting.
pub fn trusted_proxies(list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|s| s.parse().map_err(|e| format!("trusted_proxies: {e}")))
        .collect()
}

/// The client's IP: the TCP peer, unless the peer is a trusted proxy. Then `X-Forwarded-For` is
/// read from the right, skipping trusted proxies, and the first other address is the client
/// (the left part of the header is whatever the client sent, so it is never believed). A peer
/// that is not trusted cannot choose its IP with the header.
pub fn client_ip(headers: &HeaderMap, peer: IpAddr, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return canonical(peer);
    }
    let mut hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    while let Some(hop) = hops.pop() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => continue,
            Ok(ip) => return canonical(ip),
            // A garbled hop: stop at the last address a trusted proxy vouched for.
            Err(_) => break,
        }
    }
    canonical(peer)
}

pub fn request_info(
    st: &crate::state::AppState,
    headers: &HeaderMap,
    peer: std::net::SocketAddr,
    query: &std::collections::HashMap<String, String>,
) -> tessera_core::hooks::RequestInfo {
    let header = |h: header::HeaderName| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let host = header(header::HOST);
    tessera_core::hooks::RequestInfo {
        ip: client_ip(headers, peer.ip(), &st.trusted_proxies).to_string(),
        hostname: host
            .rsplit_once(':')
            .map_or(host.clone(), |(h, _)| h.to_owned()),
        user_agent: header(header::USER_AGENT),
        query: query
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    }
}

/// Milliseconds since the epoch: tenant log events' dates.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_ip_comes_from_forwarded_for_only_through_trusted_proxies() {
        let trusted = trusted_proxies(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let xff = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
            h
        };
        // A direct client cannot pick its IP.
        assert_eq!(
            client_ip(&xff("1.2.3.4"), ip("203.0.113.1"), &trusted),
            ip("203.0.113.1")
        );
        // Through a trusted proxy: the rightmost hop that is not a trusted proxy.
        assert_eq!(
            client_ip(&xff("1.2.3.4"), ip("10.0.0.5"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_ip(
                &xff("6.6.6.6, 1.2.3.4, 10.0.0.9"),
                ip("127.0.0.1"),
                &trusted
            ),
            ip("1.2.3.4")
        );
        let mut two = HeaderMap::new();
        two.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        two.append("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        assert_eq!(client_ip(&two, ip("10.0.0.5"), &trusted), ip("1.2.3.4"));
        // No header, only trusted hops, or a garbled hop: the last address vouched for.
        assert_eq!(
            client_ip(&HeaderMap::new(), ip("10.0.0.5"), &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_ip(&xff("10.1.1.1"), ip("10.0.0.5"), &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_ip(&xff("1.2.3.4, garbage"), ip("10.0.0.5"), &trusted),
            ip("10.0.0.5")
        );
        // No trusted proxies: the header is never read.
        assert_eq!(
            client_ip(&xff("1.2.3.4"), ip("10.0.0.5"), &[]),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn templates_escape_what_they_show() {
        let pages = Pages::new(None);
        let html = pages.render(
            "login.html",
            context! { app_name => "<script>x</script>", action => "/u/login", state => "s", csrf => "c", username => "\"><b>" },
        );
        assert!(html.contains("&lt;script&gt;x&lt;"));
        assert!(!html.contains("<script>x"));
        assert!(!html.contains("\"><b>"));
    }

    #[test]
    fn overrides_replace_embedded_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("logged_out.html"), "bye {{ 1 + 1 }}").unwrap();
        let pages = Pages::new(Some(dir.path().to_owned()));
        assert_eq!(pages.render("logged_out.html", context! {}), "bye 2");
        assert!(
            pages
                .render("error.html", context! { title => "t" })
                .contains("<h1>t</h1>")
        );
    }

    #[test]
    fn web_message_scripts_cannot_be_broken_out_of() {
        let pages = Pages::new(None);
        let html = pages.render(
            "web_message.html",
            context! { origin => "https://a.example", response => context! { state => "</script><script>alert(1)" } },
        );
        assert!(
            html.contains("var targetOrigin = \"https://a.example\";"),
            "{html}"
        );
        assert!(!html.contains("</script><script>"), "{html}");
    }

    #[test]
    fn form_action_allows_the_callbacks_origins() {
        let r = html(
            StatusCode::OK,
            String::new(),
            &[
                "https://app.example.com/cb?x=1".into(),
                "https://app.example.com/other".into(),
                "com.example.app:/callback".into(),
                "http://localhost:8080/cb".into(),
            ],
        );
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains(
                "form-action 'self' https://app.example.com com.example.app: http://localhost:8080;"
            ),
            "{csp}"
        );
    }

    #[test]
    fn the_login_page_docs_list_every_template_that_ships() {
        let docs = include_str!("../../../docs/login-page.md");
        for (name, _) in EMBEDDED {
            assert!(
                docs.contains(&format!("`{name}`")),
                "docs/login-page.md misses {name}"
            );
        }
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, "tessera_session", false).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c", false), None);
        // Over https only the __Host- cookie counts: a plain one may have been planted.
        assert_eq!(cookie(&h, "tessera_session", true), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("tessera_session=planted; __Host-tessera_session=real"),
        );
        assert_eq!(cookie(&h, "tessera_session", true).as_deref(), Some("real"));
        let c = set_cookie("n", "v", true, None);
        assert_eq!(
            c.to_str().unwrap(),
            "__Host-n=v; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let c = set_cookie("n", "v", false, Some(0));
        assert_eq!(
            c.to_str().unwrap(),
            "n=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
