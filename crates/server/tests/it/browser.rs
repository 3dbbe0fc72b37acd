//! A scripted browser: reqwest with a cookie jar and no automatic redirects, so each hop of a
//! login (authorize → login page → form POST → callback) can be looked at. Plus the fixtures
//! an interactive flow needs (a user, a SPA, a regular web app).

use std::collections::HashMap;

use reqwest::{Response, redirect::Policy};

use crate::support::TestApp;

pub const CB: &str = "https://app.example.com/callback";
pub const EMAIL: &str = "ann@example.com";
pub const PASSWORD: &str = "correct horse battery";
/// RFC 7636 Appendix B's verifier and S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

/// Where a finished authorization sent the browser, and with what.
#[derive(Debug)]
pub struct Callback {
    pub url: String,
    pub params: HashMap<String, String>,
    pub token_format: Option<String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self::at(&app.url(""))
    }

    /// A browser pointed at `base` (`http://host:port/`).
    pub fn at(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
        }
    }

    /// Points this browser, and its cookies, at another node of the same installation.
    pub fn switch_to(&mut self, base: &str) {
        self.base = base.to_owned();
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query.trim_start_matches('/'))
    }

    pub async fn get(&self, path_and_query: &str) -> Response {
        self.http
            .get(self.url(path_and_query))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_owned(&self, path_and_query: String) -> Response {
        self.get(&path_and_query).await
    }

    pub async fn authorize(&self, params: &[(&str, &str)]) -> Response {
        let q = serde_urlencoded::to_string(params).unwrap();
        self.get(&format!("authorize?{q}")).await
    }

    /// Follows `/authorize` to the login page; returns the page's URL path and HTML.
    pub async fn to_login_page(&self, params: &[(&str, &str)]) -> (String, String) {
        let r = self.authorize(params).await;
        let status = r.status();
        let loc = location(&r);
        assert!(
            status == 302 || status == 303,
            "authorize should send the browser to the login page: {status} {loc}"
        );
        assert!(loc.starts_with("/u/login?state="), "{loc}");
        let page = self.get(&loc).await;
        assert_eq!(page.status(), 200);
        (loc, page.text().await.unwrap())
    }

    /// Posts the login form found in `html`, with these credentials.
    pub async fn post_login(&self, html: &str, email: &str, password: &str) -> Response {
        let form = [
            ("state", hidden(html, "state").expect("state field")),
            ("csrf", hidden(html, "csrf").expect("csrf field")),
            ("username", email.to_owned()),
            ("password", password.to_owned()),
        ];
        self.http
            .post(self.url("u/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// A whole interactive login: authorize, login page, password. Returns the callback.
    pub async fn login(&self, params: &[(&str, &str)], email: &str, password: &str) -> Callback {
        let (_, html) = self.to_login_page(params).await;
        let r = self.post_login(&html, email, password).await;
        callback(r).await
    }
}

/// The `Location` header.
pub fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Reads an authorization response: a redirect (query or fragment) or a form_post page.
pub async fn callback(r: Response) -> Callback {
    let token_format = r
        .headers()
        .get("tessera-token-format")
        .map(|v| v.to_str().unwrap().to_owned());
    if r.status() == 302 || r.status() == 303 {
        let url = location(&r);
        let (base, encoded) = match url.split_once('#') {
            Some((b, f)) => (b.to_owned(), f.to_owned()),
            None => match url.split_once('?') {
                Some((b, q)) => (b.to_owned(), q.to_owned()),
                None => (url.clone(), String::new()),
            },
        };
        let params = url::form_urlencoded::parse(encoded.as_bytes())
            .into_owned()
            .collect();
        return Callback {
            url: base,
            params,
            token_format,
        };
    }
    let status = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(
        status, 200,
        "expected a redirect or a form_post page: {html}"
    );
    let action = attr_after(&html, "<form", "action").expect("form action");
    let mut params = HashMap::new();
    let mut rest = html.as_str();
    while let Some(i) = rest.find("<input type=\"hidden\"") {
        rest = &rest[i + 5..];
        let name = attr_after(rest, "", "name").unwrap();
        let value = attr_after(rest, "", "value").unwrap();
        params.insert(name, value);
    }
    Callback {
        url: action,
        params,
        token_format,
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attr_after(html: &str, anchor: &str, attr: &str) -> Option<String> {
    let start = html.find(anchor)?;
    let rest = &html[start..];
    let key = format!("{attr}=\"");
    let i = rest.find(&key)? + key.len();
    let end = rest[i..].find('"')?;
    Some(unescape(&rest[i..i + end]))
}

/// The value of the hidden input `name`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    attr_after(html, &format!("name=\"{name}\" value="), "value")
}

impl TestApp {
    pub fn user(&self, email: &str, password: &str) -> String {
        let u = self.cli_json(&[
            "users",
            "create",
            "--email",
            email,
            "--password",
            password,
            "--name",
            "Ann Example",
            "--email-verified",
        ]);
        u["user_id"].as_str().unwrap().to_owned()
    }

    /// A SPA (public, PKCE) with the test callback; extra flags as given. Its client_id.
    pub fn spa(&self, extra: &[&str]) -> String {
        let mut args = vec![
            "apps",
            "create",
            "--name",
            "My SPA",
            "--type",
            "spa",
            "--callbacks",
            CB,
        ];
        args.extend_from_slice(extra);
        self.cli_json(&args)["client_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A regular web app (confidential). (client_id, client_secret).
    pub fn web_app(&self, extra: &[&str]) -> (String, String) {
        let mut args = vec![
            "apps",
            "create",
            "--name",
            "My Web App",
            "--type",
            "regular",
            "--callbacks",
            CB,
        ];
        args.extend_from_slice(extra);
        let app = self.cli_json(&args);
        (
            app["client_id"].as_str().unwrap().to_owned(),
            app["client_secret"].as_str().unwrap().to_owned(),
        )
    }
}
