//! The JavaScript around a user's script: Auth0's `event`/`api` objects for Actions and the
//! `(user, context, callback)` calling convention for Rules. The engine exposes no host
//! function to scripts at all: no file system, no network, no process, not even a clock
//! beyond the language's own `Date`.
//!
//! A wrapped script evaluates to `[code, wrapper]`. `code` is the user's script inside a
//! function of the names it may use: `console`, then `exports`, `module` and `require` for an
//! action; `console`, `global`, `configuration`, `UnauthorizedError` and `require` for a rule.
//! The wrapper is its sibling, not an enclosing scope, so the user's code cannot name anything
//! in it. The host calls the wrapper with a record to fill, `code` and the inputs; before it
//! calls `code`, the wrapper keeps its own references to the built-ins it uses later (`String`,
//! `JSON.stringify`, `String.prototype.slice`, `Promise`, `Promise.resolve`, `Reflect.apply`,
//! `Error`), and it records each `api` call and console line as
//! `record[i] = { 0: kind, 1: a, 2: b }`. The record (made by the host) and its entries have
//! no prototype and never reach user code, and the host encodes the record with QuickJS's
//! own JSON encoder: a script that replaces built-ins, before or after calling
//! `api.access.deny`, changes neither what is recorded nor how the host reads it.

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

/// The start of both wrappers: pristine built-ins kept before any user code runs, `__emit`
/// to record an op, and a `console` whose lines (at most 100, cut at 2,000 characters) come
/// back as ops and go to the server's log.
macro_rules! prelude_js {
    () => {
        r#"  const __String = String, __stringify = JSON.stringify, __Error = Error;
  const __Promise = Promise, __resolve = Promise.resolve, __apply = Reflect.apply;
  const __slice = String.prototype.slice;
  let __n = 0;
  const __emit = function (kind, a, b) { __r[__n] = { __proto__: null, 0: kind, 1: a, 2: b }; __n += 1; };
  let __lines = 0;
  const __line = function (level) {
    return function () {
      if (__lines >= 100) { return; }
      __lines += 1;
      let text = "";
      for (let i = 0; i < arguments.length; i++) {
        const a = arguments[i];
        let s = a;
        if (typeof a !== "string") {
          try { s = __stringify(a); } catch (e) { s = undefined; }
          if (typeof s !== "string") { s = __String(a); }
        }
        text = i === 0 ? s : text + " " + s;
        if (text.length > 2000) { break; }
      }
      __emit("log", level, __apply(__slice, text, [0, 2000]));
    };
  };
  const console = { log: __line("info"), info: __line("info"), warn: __line("warn"), error: __line("error"), debug: __line("debug") };
"#
    };
}

const ACTION_HEAD: &str = "[function (console) { return function (exports, module, require) {\n";

const ACTION_TAIL: &str = concat!(
    r#"
}; }, function (__r, __code, event, __secrets, __export) {
"#,
    prelude_js!(),
    r#"  event.secrets = __secrets;
  const api = {
    accessToken: {
      setCustomClaim: function (name, value) { __emit("access", __String(name), value); return api; },
      addScope: function (s) { __emit("addScope", __String(s), null); return api; },
      removeScope: function (s) { __emit("removeScope", __String(s), null); return api; },
    },
    idToken: {
      setCustomClaim: function (name, value) { __emit("id", __String(name), value); return api; },
    },
    access: {
      deny: function (a, b) {
        if (b === undefined) { __emit("deny", null, __String(a)); } else { __emit("deny", __String(a), __String(b)); }
        return api;
      },
    },
    user: {
      setAppMetadata: function (k, v) { __emit("app", __String(k), v); return api; },
      setUserMetadata: function (k, v) { __emit("user", __String(k), v); return api; },
    },
  };
  const module = { exports: {} };
  __code(console)(module.exports, module, function () { throw new __Error("require() is not available in Tessera actions"); });
  const fn = module.exports[__export];
  return __apply(__resolve, __Promise, [typeof fn === "function" ? fn(event, api) : undefined]);
}]"#
);

const RULE_HEAD: &str =
    "[function (console, global, configuration, UnauthorizedError, require) {\n  return (\n";

const RULE_TAIL: &str = concat!(
    r#"
  );
}, function (__r, __code, user, context, configuration) {
"#,
    prelude_js!(),
    r#"  class UnauthorizedError extends __Error {
    constructor(message) { super(message); this.name = "UnauthorizedError"; }
  }
  const require = function () { throw new __Error("require() is not available in Tessera rules"); };
  const rule = __code(console, {}, configuration, UnauthorizedError, require);
  return new __Promise(function (resolve, reject) {
    let done = false;
    const callback = function (err, u, c) {
      if (done) { return; }
      if (err) { done = true; reject(err); return; }
      const cx = c || context;
      const access = __stringify(cx.accessToken || {}), id = __stringify(cx.idToken || {});
      done = true;
      __emit("rule", access, id);
      resolve();
    };
    rule(user, context, callback);
  });
}]"#
);

/// The action's source in its wrapper (see the module's doc); the wrapper takes
/// `(record, code, event, secrets, exportName)` and returns a promise.
pub fn action(code: &str) -> String {
    format!("{ACTION_HEAD}{code}{ACTION_TAIL}")
}

/// The rule (a function expression) in its wrapper (see the module's doc); the wrapper takes
/// `(record, code, user, context, configuration)` and returns a promise.
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
