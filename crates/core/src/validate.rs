//! Validation of what operators configure: names, API identifiers, callback / logout URLs,
//! web origins, lifetimes. Each check returns a sentence that says what is wrong.

use url::Url;

pub fn name(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("the name must not be empty".into());
    }
    if s.chars().count() > 255 {
        return Err("the name must have at most 255 characters".into());
    }
    if s.chars().any(char::is_control) {
        return Err("the name must not contain control characters".into());
    }
    Ok(())
}

/// An API identifier is any absolute URI (`https://api.example.com`, `urn:my-api`), printable
/// ASCII without spaces, at most 600 characters.
pub fn identifier(s: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "invalid API identifier '{}': use an absolute URI such as https://api.example.com",
            s.escape_default()
        ))
    };
    if s.is_empty() || s.len() > 600 || !s.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
        return bad();
    }
    match s.split_once(':') {
        Some((scheme, rest))
            if !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            Ok(())
        }
        _ => bad(),
    }
}

/// A callback or logout URL: absolute, no fragment (RFC 6749 §3.1.2), not a script scheme.
pub fn redirect_url(s: &str) -> Result<(), String> {
    let url = Url::parse(s).map_err(|e| format!("invalid URL '{}': {e}", s.escape_default()))?;
    if url.fragment().is_some() {
        return Err(format!(
            "invalid URL '{s}': a redirect URL must not have a fragment"
        ));
    }
    if matches!(url.scheme(), "javascript" | "data" | "vbscript" | "file") {
        return Err(format!(
            "invalid URL '{s}': the {} scheme is not allowed",
            url.scheme()
        ));
    }
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_none_or(str::is_empty) {
        return Err(format!("invalid URL '{s}': it has no host"));
    }
    Ok(())
}

/// A callback URL (where codes and tokens are sent): a [`redirect_url`], and plain `http` only
/// to this machine (`localhost`, `127.0.0.0/8`, `[::1]`), where nothing crosses a network
/// (RFC 9700 §2.1, RFC 8252 §8.3). Native apps' private-use schemes are fine when they are
/// reverse domain names (`com.example.app:/callback`, RFC 8252 §7.1); anything else before the
/// first `:` is most likely a forgotten `http://` (`localhost:8080/callback`).
pub fn callback_url(s: &str) -> Result<(), String> {
    redirect_url(s)?;
    let url = Url::parse(s).map_err(|e| format!("invalid URL '{s}': {e}"))?;
    if !matches!(url.scheme(), "http" | "https") && !url.scheme().contains('.') {
        let hint = if s.contains("://") {
            String::new()
        } else {
            format!(" (did you mean http://{s}?)")
        };
        return Err(format!(
            "invalid URL '{s}': a callback needs http:// or https://, or a native app's \
             reverse-domain scheme such as com.example.app:/callback{hint}"
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "http" && !loopback {
        return Err(format!(
            "invalid URL '{s}': a callback over plain http is only allowed to localhost, \
             127.0.0.1 or [::1]; use https"
        ));
    }
    Ok(())
}

/// A web origin: `scheme://host[:port]`, nothing after it.
pub fn web_origin(s: &str) -> Result<(), String> {
    let url =
        Url::parse(s).map_err(|e| format!("invalid web origin '{}': {e}", s.escape_default()))?;
    let only_origin = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && !s.trim_end_matches('/').ends_with(':')
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && !s.ends_with('/');
    if only_origin {
        Ok(())
    } else {
        Err(format!(
            "invalid web origin '{s}': use scheme://host[:port]"
        ))
    }
}

pub fn token_lifetime(secs: i64) -> Result<(), String> {
    if (1..=crate::model::ResourceServer::MAX_TOKEN_LIFETIME).contains(&secs) {
        Ok(())
    } else {
        Err(format!(
            "the token lifetime must be between 1 and {} seconds",
            crate::model::ResourceServer::MAX_TOKEN_LIFETIME
        ))
    }
}

/// Email addresses: one `@`, something on both sides, no spaces; at most 254 characters.
pub fn email(s: &str) -> Result<(), String> {
    let ok = s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(s.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid email address '{}'", s.escape_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_without_a_scheme_is_refused_with_a_hint() {
        let e = callback_url("localhost:8080/callback").unwrap_err();
        assert!(
            e.contains("did you mean http://localhost:8080/callback"),
            "{e}"
        );
        assert!(callback_url("myapp://callback").is_err());
        assert!(callback_url("com.example.app:/callback").is_ok());
        assert!(callback_url("com.example.app://callback").is_ok());
        assert!(callback_url("http://localhost:8080/callback").is_ok());
        assert!(callback_url("https://app.example.com/cb").is_ok());
    }

    #[test]
    fn identifiers() {
        assert!(identifier("https://api.example.com").is_ok());
        assert!(identifier("urn:my-api").is_ok());
        assert!(identifier("my api").is_err());
        assert!(identifier("no-scheme").is_err());
        assert!(identifier("1http://x").is_err());
        assert!(identifier("").is_err());
    }

    #[test]
    fn redirect_urls() {
        assert!(redirect_url("https://app.example.com/callback").is_ok());
        assert!(redirect_url("com.example.app://callback").is_ok());
        assert!(redirect_url("http://127.0.0.1:8080/cb").is_ok());
        assert!(redirect_url("not a url").is_err());
        assert!(redirect_url("https://app.example.com/cb#frag").is_err());
        assert!(redirect_url("javascript:alert(1)").is_err());
        assert!(redirect_url("data:text/html,hi").is_err());
    }

    #[test]
    fn callbacks_need_https_except_on_loopback() {
        for ok in [
            "https://app.example.com/callback",
            "http://localhost:8080/callback",
            "http://127.0.0.1/callback",
            "http://127.0.0.2:9000/cb",
            "http://[::1]:8080/cb",
            "com.example.app://callback",
        ] {
            assert!(callback_url(ok).is_ok(), "{ok}");
        }
        for no in [
            "http://app.example.com/callback",
            "http://localhost.evil.example/callback",
            "http://10.0.0.1/callback",
            "https://app.example.com/cb#frag",
            "javascript:alert(1)",
            "data:text/html,hi",
        ] {
            assert!(callback_url(no).is_err(), "{no}");
        }
    }

    #[test]
    fn web_origins() {
        assert!(web_origin("https://app.example.com").is_ok());
        assert!(web_origin("http://localhost:3000").is_ok());
        assert!(web_origin("https://app.example.com/path").is_err());
        assert!(web_origin("https://app.example.com/").is_err());
        assert!(web_origin("ftp://x").is_err());
    }

    #[test]
    fn emails_and_lifetimes() {
        assert!(email("a@b.c").is_ok());
        assert!(email("a b@c").is_err());
        assert!(email("@c").is_err());
        assert!(token_lifetime(86_400).is_ok());
        assert!(token_lifetime(0).is_err());
        assert!(token_lifetime(2_592_001).is_err());
    }
}
