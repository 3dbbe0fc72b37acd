//! Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive tokens of `%x21 / %x23-5B /
//! %x5D-7E`.

/// Is `s` a valid scope token?
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Splits a scope parameter into its tokens, dropping repeats, keeping order.
pub fn parse(scope: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tok in scope.split(' ').filter(|t| !t.is_empty()) {
        if !is_scope_token(tok) {
            return Err(format!(
                "the scope '{}' has characters RFC 6749 section 3.3 does not allow",
                tok.escape_default()
            ));
        }
        if !out.iter().any(|t| t == tok) {
            out.push(tok.to_owned());
        }
    }
    Ok(out)
}

/// The scopes of `granted` that are also in `requested`, in `granted`'s order.
pub fn intersect(granted: &[String], requested: &[String]) -> Vec<String> {
    granted
        .iter()
        .filter(|g| requested.contains(g))
        .cloned()
        .collect()
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dedups_and_rejects_bad_characters() {
        assert_eq!(
            parse("  read:x  write:x read:x ").unwrap(),
            vec!["read:x", "write:x"]
        );
        assert!(parse("read\"x").is_err());
        assert!(parse("a\\b").is_err());
        assert!(parse("caf\u{e9}").is_err());
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn intersection_keeps_granted_order() {
        let g = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let r = vec!["c".to_string(), "a".to_string(), "z".to_string()];
        assert_eq!(intersect(&g, &r), vec!["a", "c"]);
    }
}
