//! Auth0's user search syntax (the `q` of `GET /api/v2/users`, a Lucene subset): terms
//! `field:value`, `field:"quoted value"` and `field:prefix*`, joined with `AND` and `OR`
//! (`AND` binds tighter; terms side by side are joined with `AND`) and grouped with
//! parentheses. Fields: `email`, `user_id`, `name`, `nickname`, `given_name`, `family_name`,
//! `blocked`, `email_verified`, `app_metadata.KEY`, `user_metadata.KEY`.

use super::{ManageError, ManageResult};
use crate::model::{Match, UserField, UserFilter};

/// The longest query taken, and the most terms in it.
const MAX_QUERY: usize = 1_000;
const MAX_TERMS: usize = 20;

fn bad(message: impl Into<String>) -> ManageError {
    ManageError::field("q", message.into())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Term(UserField, Match),
}

/// Parses `q`; an empty query matches everyone (`None`).
pub fn parse_user_query(q: &str) -> ManageResult<Option<UserFilter>> {
    if q.len() > MAX_QUERY {
        return Err(bad(format!("is longer than {MAX_QUERY} characters")));
    }
    let tokens = tokenize(q)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let terms = tokens
        .iter()
        .filter(|t| matches!(t, Token::Term(..)))
        .count();
    if terms > MAX_TERMS {
        return Err(bad(format!("has more than {MAX_TERMS} terms")));
    }
    let mut p = Parser { tokens, at: 0 };
    let f = p.or()?;
    if p.at != p.tokens.len() {
        return Err(bad("has an unmatched ')'"));
    }
    Ok(Some(f))
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> ManageResult<UserFilter> {
        let mut any = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            any.push(self.and()?);
        }
        Ok(one_or(any, UserFilter::Any))
    }

    fn and(&mut self) -> ManageResult<UserFilter> {
        let mut all = vec![self.atom()?];
        loop {
            match self.peek() {
                Some(Token::And) => {
                    self.at += 1;
                    all.push(self.atom()?);
                }
                Some(Token::Open | Token::Term(..)) => all.push(self.atom()?),
                _ => break,
            }
        }
        Ok(one_or(all, UserFilter::All))
    }

    fn atom(&mut self) -> ManageResult<UserFilter> {
        let t = self.peek().cloned();
        self.at += 1;
        match t {
            Some(Token::Term(f, m)) => Ok(UserFilter::Term(f, m)),
            Some(Token::Open) => {
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(bad("has an unclosed '('"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::And | Token::Or) => Err(bad("has AND or OR where a term should be")),
            Some(Token::Close) => Err(bad("has an unmatched ')'")),
            None => Err(bad("ends where a term should be")),
        }
    }
}

fn one_or(mut v: Vec<UserFilter>, join: fn(Vec<UserFilter>) -> UserFilter) -> UserFilter {
    if v.len() == 1 { v.remove(0) } else { join(v) }
}

fn tokenize(q: &str) -> ManageResult<Vec<Token>> {
    let mut out = Vec::new();
    let mut rest = q.trim_start();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('(') {
            out.push(Token::Open);
            rest = r;
        } else if let Some(r) = rest.strip_prefix(')') {
            out.push(Token::Close);
            rest = r;
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ':')
                .unwrap_or(rest.len());
            let word = &rest[..end];
            let after = &rest[end..];
            if let Some(value) = after.strip_prefix(':') {
                let (m, r) = value_of(word, value)?;
                out.push(Token::Term(field(word)?, check(word, m)?));
                rest = r;
            } else {
                out.push(match word {
                    "AND" | "&&" => Token::And,
                    "OR" | "||" => Token::Or,
                    _ => {
                        return Err(bad(format!(
                            "'{}' names no field: write field:value, like email:\"ann@example.com\"",
                            word.escape_default()
                        )));
                    }
                });
                rest = after;
            }
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

/// The value after `field:`, and what follows it.
fn value_of<'a>(word: &str, s: &'a str) -> ManageResult<(Match, &'a str)> {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) => value.push(e),
                    None => break,
                },
                '"' => return Ok((Match::Is(value), &quoted[i + 1..])),
                c => value.push(c),
            }
        }
        return Err(bad(format!("the value of {word} has no closing quote")));
    }
    let end = s
        .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .unwrap_or(s.len());
    let raw = &s[..end];
    if raw.is_empty() {
        return Err(bad(format!("{word}: has no value")));
    }
    let m = match raw.strip_suffix('*') {
        Some(p) if !p.is_empty() && !p.contains('*') => Match::Prefix(p.to_owned()),
        _ if raw.contains('*') => {
            return Err(bad(format!(
                "{word}: a wildcard may only end a value of at least one character"
            )));
        }
        _ => Match::Is(raw.to_owned()),
    };
    Ok((m, &s[end..]))
}

fn field(word: &str) -> ManageResult<UserField> {
    let key = |k: &str| -> ManageResult<String> {
        let ok = !k.is_empty()
            && k.len() <= 64
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(k.to_owned())
        } else {
            Err(bad(format!(
                "'{}': a metadata key is 1 to 64 letters, digits, '_' or '-'",
                word.escape_default()
            )))
        }
    };
    Ok(match word {
        "email" => UserField::Email,
        "user_id" => UserField::UserId,
        "name" => UserField::Name,
        "nickname" => UserField::Nickname,
        "given_name" => UserField::GivenName,
        "family_name" => UserField::FamilyName,
        "blocked" => UserField::Blocked,
        "email_verified" => UserField::EmailVerified,
        w => match (
            w.strip_prefix("app_metadata."),
            w.strip_prefix("user_metadata."),
        ) {
            (Some(k), _) => UserField::AppMetadata(key(k)?),
            (_, Some(k)) => UserField::UserMetadata(key(k)?),
            _ => {
                return Err(bad(format!(
                    "cannot search by '{}': use email, user_id, name, nickname, given_name, \
                     family_name, blocked, email_verified, app_metadata.KEY or user_metadata.KEY",
                    w.escape_default()
                )));
            }
        },
    })
}

/// Flags take `true` or `false`; the rest take text.
fn check(word: &str, m: Match) -> ManageResult<Match> {
    if !matches!(word, "blocked" | "email_verified") {
        return Ok(m);
    }
    match m {
        Match::Is(v) if v == "true" => Ok(Match::Flag(true)),
        Match::Is(v) if v == "false" => Ok(Match::Flag(false)),
        _ => Err(bad(format!("{word}: is true or false"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(f: UserField, m: Match) -> UserFilter {
        UserFilter::Term(f, m)
    }

    #[test]
    fn terms_operators_and_groups() {
        assert_eq!(parse_user_query("  ").unwrap(), None);
        assert_eq!(
            parse_user_query(r#"email:"ann@example.com""#).unwrap(),
            Some(t(UserField::Email, Match::Is("ann@example.com".into())))
        );
        assert_eq!(
            parse_user_query("email:ann* AND blocked:true").unwrap(),
            Some(UserFilter::All(vec![
                t(UserField::Email, Match::Prefix("ann".into())),
                t(UserField::Blocked, Match::Flag(true)),
            ]))
        );
        // AND binds tighter than OR; parentheses group.
        assert_eq!(
            parse_user_query(r#"name:a OR name:b AND app_metadata.plan:"pro x""#).unwrap(),
            Some(UserFilter::Any(vec![
                t(UserField::Name, Match::Is("a".into())),
                UserFilter::All(vec![
                    t(UserField::Name, Match::Is("b".into())),
                    t(
                        UserField::AppMetadata("plan".into()),
                        Match::Is("pro x".into())
                    ),
                ]),
            ]))
        );
        assert_eq!(
            parse_user_query("(name:a OR name:b) user_id:x").unwrap(),
            Some(UserFilter::All(vec![
                UserFilter::Any(vec![
                    t(UserField::Name, Match::Is("a".into())),
                    t(UserField::Name, Match::Is("b".into())),
                ]),
                t(UserField::UserId, Match::Is("x".into())),
            ]))
        );
        assert_eq!(
            parse_user_query(r#"name:"say \"hi\"""#).unwrap(),
            Some(t(UserField::Name, Match::Is("say \"hi\"".into())))
        );
    }

    #[test]
    fn mistakes_are_400s_that_name_q() {
        for q in [
            "ann",
            "email:",
            "email:\"open",
            "(name:a",
            "name:a)",
            "name:a AND",
            "OR name:a",
            "password:x",
            "app_metadata.:x",
            "app_metadata.a.b:x",
            "blocked:yes",
            "name:*",
            "name:a*b",
        ] {
            let e = parse_user_query(q).unwrap_err();
            assert!(
                matches!(
                    e,
                    ManageError::Invalid {
                        field: Some("q"),
                        ..
                    }
                ),
                "{q}: {e:?}"
            );
        }
        let long = "name:a OR ".repeat(200);
        assert!(parse_user_query(&long).is_err());
        let many = vec!["name:a"; 21].join(" OR ");
        assert!(parse_user_query(&many).is_err());
    }
}
