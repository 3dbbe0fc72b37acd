//! The JavaScript around a user's script: Auth0's `event`/`api` objects for Actions and the
//! `(user, context, callback)` calling convention for Rules. Everything crosses the boundary as
//! JSON text, so the engine exposes no host function to scripts at all: no file system, no
//! network, no process, not even a clock beyond the language's own `Date`.

/// Lines of wrapper before the user's first line, to report syntax errors at the user's line.
pub const ACTION_PREFIX_LINES: u32 = newlines(ACTION_HEAD);
pub const RULE_PREFIX_LINES: u32 = newlines(RULE_HEAD);

const fn newlines(s: &str) -> u32 {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] == b'\n' {
            n += 1;
        }
        i += 1;
    }
    n
}

/// `__console(logs)`: a `console` whose lines (at most 100, of 2,000 characters) come back
/// with the result and go to the server's log.
macro_rules! console_js {
    () => {
        r#"  const __console = function (logs) {
    const line = function (level) {
      return function () {
        if (logs.length >= 100) { return; }
        const parts = [];
        for (let i = 0; i < arguments.length; i++) {
          const a = arguments[i];
          parts.push(typeof a === "string" ? a : (function () { try { return JSON.stringify(a); } catch (e) { return String(a); } })());
        }
        logs.push([level, parts.join(" ").slice(0, 2000)]);
      };
    };
    return { log: line("info"), info: line("info"), warn: line("warn"), error: line("error"), debug: line("debug") };
  };
"#
    };
}

const ACTION_HEAD: &str = concat!(
    r#"(function (__event_json, __secrets_json, __export) {
"#,
    console_js!(),
    r#"  const event = JSON.parse(__event_json);
  event.secrets = JSON.parse(__secrets_json);
  const __r = { access: [], id: [], addScopes: [], removeScopes: [], deny: null, app: {}, user: {}, logs: [] };
  const __v = function (v) { return v === undefined ? null : v; };
  const console = __console(__r.logs);
  const api = {
    accessToken: {
      setCustomClaim: function (name, value) { __r.access.push([String(name), __v(value)]); return api; },
      addScope: function (s) { __r.addScopes.push(String(s)); return api; },
      removeScope: function (s) { __r.removeScopes.push(String(s)); return api; },
    },
    idToken: {
      setCustomClaim: function (name, value) { __r.id.push([String(name), __v(value)]); return api; },
    },
    access: {
      deny: function (a, b) { __r.deny = b === undefined ? { code: null, reason: String(a) } : { code: String(a), reason: String(b) }; return api; },
    },
    user: {
      setAppMetadata: function (k, v) { __r.app[String(k)] = __v(v); return api; },
      setUserMetadata: function (k, v) { __r.user[String(k)] = __v(v); return api; },
    },
  };
  const module = { exports: {} };
  (function (exports, module, require) {
"#
);

const ACTION_TAIL: &str = r#"
  })(module.exports, module, function () { throw new Error("require() is not available in Tessera actions"); });
  const fn = module.exports[__export];
  if (typeof fn !== "function") { return Promise.resolve(JSON.stringify(__r)); }
  return Promise.resolve(fn(event, api)).then(function () { return JSON.stringify(__r); });
})"#;

const RULE_HEAD: &str = concat!(
    r#"(function (__user_json, __context_json, __config_json) {
"#,
    console_js!(),
    r#"  const __logs = [];
  const console = __console(__logs);
  const global = {};
  const user = JSON.parse(__user_json);
  const context = JSON.parse(__context_json);
  const configuration = JSON.parse(__config_json);
  class UnauthorizedError extends Error {
    constructor(message) { super(message); this.name = "UnauthorizedError"; }
  }
  return new Promise(function (resolve, reject) {
    const callback = function (err, u, c) {
      if (err) { reject(err); return; }
      const cx = c || context;
      resolve(JSON.stringify({ accessToken: cx.accessToken || {}, idToken: cx.idToken || {}, logs: __logs }));
    };
    const require = function () { throw new Error("require() is not available in Tessera rules"); };
    const __rule = (
"#
);

const RULE_TAIL: &str = r#"
    );
    __rule(user, context, callback);
  });
})"#;

/// The action's source inside its wrapper: evaluating it yields a function
/// `(eventJson, secretsJson, exportName) -> Promise<resultJson>`.
pub fn action(code: &str) -> String {
    format!("{ACTION_HEAD}{code}{ACTION_TAIL}")
}

/// The rule (a function expression) inside its wrapper: evaluating it yields a function
/// `(userJson, contextJson, configJson) -> Promise<{accessToken, idToken} json>`.
pub fn rule(code: &str) -> String {
    let trimmed = code.trim().trim_end_matches(';');
    format!("{RULE_HEAD}{trimmed}{RULE_TAIL}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_line_counts_match_the_wrappers() {
        assert_eq!(ACTION_HEAD.lines().count() as u32, ACTION_PREFIX_LINES);
        assert_eq!(RULE_HEAD.lines().count() as u32, RULE_PREFIX_LINES);
    }
}
