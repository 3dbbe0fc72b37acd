//! tessera-actions: Auth0-style Actions and Rules in JavaScript, run by QuickJS (rquickjs)
//! behind core's [`ClaimsHook`]. Every script run gets a QuickJS runtime and context of its
//! own, made for that run and dropped after it: it starts from pristine built-ins and an empty
//! global object, and nothing it does (globals, patched built-ins, queued jobs) reaches
//! another script or a later run of itself. Only compiled bytecode is kept between runs (see
//! `exec`). Each run has a memory limit and a time limit (an interrupt
//! handler, and a deadline on the job queue), so a throwing, looping or memory-hungry script
//! fails its own login and nothing else. Scripts see no host functions: inputs cross as JSON
//! text, and the host reads what a script asked for from a record the wrapper fills (see
//! `wrap`), not from anything the script could have redefined.

mod exec;
mod wrap;

use std::{sync::OnceLock, time::Duration};

use async_trait::async_trait;
use rquickjs::{CatchResultExt, CaughtError, Context, Runtime};
use serde_json::{Map, Value, json};
use tessera_core::{
    hooks::{ClaimsHook, Denial, HookError, HookOutcome, HookRequest, HookScript, SetClaim},
    model::ScriptKind,
};

use exec::{Op, Sandbox, describe, execute_in};

/// Default memory limit per script execution.
pub const DEFAULT_MEMORY_LIMIT: usize = 32 * 1024 * 1024;

/// Runs scripts on worker threads of its own (two per core, started at the first run). Each
/// worker keeps one fresh [`Sandbox`] ready while it waits, and frees the spent ones after it
/// has answered, so making and freeing a QuickJS runtime stays off a login's path.
pub struct Engine {
    memory_limit: usize,
    jobs: OnceLock<flume::Sender<Job>>,
}

struct Job {
    req: HookRequest,
    reply: tokio::sync::oneshot::Sender<Result<HookOutcome, HookError>>,
}

impl Engine {
    pub fn new(memory_limit: usize) -> Self {
        Self {
            memory_limit,
            jobs: OnceLock::new(),
        }
    }

    fn workers(&self) -> &flume::Sender<Job> {
        self.jobs.get_or_init(|| {
            let (tx, rx) = flume::unbounded::<Job>();
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            for i in 0..cores * 2 {
                let (rx, limit) = (rx.clone(), self.memory_limit);
                let spawned = std::thread::Builder::new()
                    .name(format!("tessera-scripts-{i}"))
                    .spawn(move || worker(&rx, limit));
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "could not start a script worker");
                }
            }
            tx
        })
    }
}

/// A script worker: until the engine is dropped, takes one request at a time.
fn worker(jobs: &flume::Receiver<Job>, memory_limit: usize) {
    let mut spare: Option<Sandbox> = None;
    loop {
        if spare.is_none() {
            spare = Sandbox::new(memory_limit)
                .map_err(|e| tracing::warn!(error = %e, "could not prepare a script sandbox"))
                .ok();
        }
        let Ok(job) = jobs.recv() else {
            return;
        };
        let mut spent = Vec::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_with(job.req, memory_limit, &mut spare, &mut spent)
        }))
        .unwrap_or_else(|_| Err(HookError::Internal("the script worker panicked".into())));
        let _ = job.reply.send(result);
        // Freed after the answer is on its way.
        drop(spent);
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_LIMIT)
    }
}

/// A script's `console.*` lines into the server's log: this many, cut at this many characters.
const MAX_LOG_LINES: usize = 100;
const MAX_LOG_CHARS: usize = 2000;

/// A script's `console.*` line, into the server's log with the script's name.
fn log_console(script: &str, level: &Value, text: &Value) {
    let text = text.as_str().unwrap_or("");
    let text = match text.char_indices().nth(MAX_LOG_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    match level.as_str() {
        Some("error") => tracing::error!(script, "console: {text}"),
        Some("warn") => tracing::warn!(script, "console: {text}"),
        Some("debug") => tracing::debug!(script, "console: {text}"),
        _ => tracing::info!(script, "console: {text}"),
    }
}

/// The rules' `user` and `context` (Auth0's rule API) from an Action-shaped event.
fn rule_inputs(
    event: &Value,
    access: &Map<String, Value>,
    id: &Map<String, Value>,
) -> (Value, Value) {
    let user = event["user"].clone();
    let req = &event["request"];
    let context = json!({
        "clientID": event["client"]["client_id"],
        "clientName": event["client"]["name"],
        "clientMetadata": event["client"]["metadata"],
        "connection": event["connection"]["name"],
        "protocol": event["transaction"]["protocol"],
        "request": {
            "ip": req["ip"],
            "hostname": req["hostname"],
            "query": req["query"],
            "userAgent": req["user_agent"],
        },
        "authorization": { "roles": event["authorization"]["roles"] },
        "accessToken": access,
        "idToken": id,
    });
    (user, context)
}

/// The claims rules have set so far, as the next rule's `context` shows them.
#[derive(Default)]
struct RuleClaims {
    access: Map<String, Value>,
    id: Map<String, Value>,
}

/// What one script asked for, its ops in order, into `out`. Each kind of script is held to
/// its own ops: an action's `api` calls, a rule's claims when it calls back.
fn apply(
    out: &mut HookOutcome,
    rules: &mut RuleClaims,
    script: &HookScript,
    ops: Vec<Op>,
) -> Result<(), String> {
    let claim = |name: String, value: Value| SetClaim {
        script: script.name.clone(),
        name,
        value,
    };
    let mut lines = 0;
    for Op { kind, a, b } in ops {
        match (script.kind, kind.as_str(), a) {
            (_, "log", level) if lines < MAX_LOG_LINES => {
                lines += 1;
                log_console(&script.name, &level, &b);
            }
            (ScriptKind::Action, "access", Value::String(name)) => {
                out.access_claims.push(claim(name, b));
            }
            (ScriptKind::Action, "id", Value::String(name)) => out.id_claims.push(claim(name, b)),
            (ScriptKind::Action, "addScope", Value::String(s)) => out.add_scopes.push(s),
            (ScriptKind::Action, "removeScope", Value::String(s)) => out.remove_scopes.push(s),
            (ScriptKind::Action, "app", Value::String(k)) => {
                out.app_metadata.insert(k, b);
            }
            (ScriptKind::Action, "user", Value::String(k)) => {
                out.user_metadata.insert(k, b);
            }
            (ScriptKind::Action, "deny", code) => {
                out.deny = Some(Denial {
                    script: script.name.clone(),
                    code: code.as_str().map(str::to_owned),
                    reason: b.as_str().unwrap_or("").to_owned(),
                });
            }
            // JSON texts of `context.accessToken` and `context.idToken` as the rule left them.
            (ScriptKind::Rule, "rule", access) => {
                for (text, seen, sink) in [
                    (access, &mut rules.access, &mut out.access_claims),
                    (b, &mut rules.id, &mut out.id_claims),
                ] {
                    let claims: Value = match text {
                        Value::String(t) => serde_json::from_str(&t).map_err(|e| e.to_string())?,
                        _ => Value::Null,
                    };
                    for (name, value) in claims.as_object().cloned().unwrap_or_default() {
                        if seen.get(&name) != Some(&value) {
                            sink.push(claim(name.clone(), value.clone()));
                            seen.insert(name, value);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Runs a request's scripts on this thread, each in a sandbox of its own.
#[cfg(test)]
fn run_blocking(req: HookRequest, memory_limit: usize) -> Result<HookOutcome, HookError> {
    run_with(req, memory_limit, &mut None, &mut Vec::new())
}

/// Runs a request's scripts, each in a fresh sandbox: `spare` first if there is one, then new
/// ones. The spent sandboxes go to `spent`, for the caller to free once it has answered.
fn run_with(
    req: HookRequest,
    memory_limit: usize,
    spare: &mut Option<Sandbox>,
    spent: &mut Vec<Sandbox>,
) -> Result<HookOutcome, HookError> {
    let mut out = HookOutcome::default();
    let mut rules = RuleClaims::default();
    let event_json = req.event.to_string();
    let export_json = Value::from(req.trigger.export_name()).to_string();
    for script in req.scripts.iter() {
        let fail = |message: String| HookError::Script {
            script: script.name.clone(),
            message,
        };
        let secrets = Value::Object(script.secrets.clone()).to_string();
        let sandbox = match spare.take() {
            Some(s) => s,
            None => Sandbox::new(memory_limit).map_err(HookError::Internal)?,
        };
        let result = match script.kind {
            ScriptKind::Rule => {
                let (user, context) = rule_inputs(&req.event, &rules.access, &rules.id);
                let (user, context) = (user.to_string(), context.to_string());
                execute_in(
                    &sandbox,
                    &wrap::rule(&script.code),
                    [&user, &context, &secrets],
                    req.time_limit,
                )
            }
            ScriptKind::Action => execute_in(
                &sandbox,
                &wrap::action(&script.code),
                [&event_json, &secrets, &export_json],
                req.time_limit,
            ),
        };
        spent.push(sandbox);
        let ops = match result {
            Ok(ops) => ops,
            Err(msg)
                if script.kind == ScriptKind::Rule && msg.starts_with("UnauthorizedError: ") =>
            {
                out.deny = Some(Denial {
                    script: script.name.clone(),
                    code: None,
                    reason: msg.trim_start_matches("UnauthorizedError: ").to_owned(),
                });
                return Ok(out);
            }
            Err(msg) => return Err(fail(msg)),
        };
        apply(&mut out, &mut rules, script, ops).map_err(fail)?;
        if out.deny.is_some() {
            return Ok(out);
        }
    }
    Ok(out)
}

/// `line L, column C: message` from a compile error in the wrapped source.
fn syntax_error(kind: ScriptKind, code: &str) -> Result<(), String> {
    let (source, offset, lines) = match kind {
        ScriptKind::Action => (
            wrap::action(code),
            wrap::ACTION_PREFIX_LINES,
            code.lines().count(),
        ),
        ScriptKind::Rule => (
            wrap::rule(code),
            wrap::RULE_PREFIX_LINES,
            code.trim().lines().count(),
        ),
    };
    // The user's lines in the wrapped source; an error past them is at the end of the script.
    let last = offset + lines.max(1) as u32;
    let runtime = Runtime::new().map_err(|e| e.to_string())?;
    runtime.set_memory_limit(DEFAULT_MEMORY_LIMIT);
    let ctx = Context::full(&runtime).map_err(|e| e.to_string())?;
    ctx.with(|ctx| {
        match exec::compile(&ctx, &source).catch(&ctx) {
            Ok(_) => Ok(()),
            Err(CaughtError::Exception(ex)) => {
                let msg = ex.message().unwrap_or_default();
                let stack = ex.stack().unwrap_or_default();
                // "    at eval_script:LINE:COL"
                let pos = stack.rsplit("eval_script:").next().and_then(|s| {
                    let mut it = s.trim().split(':');
                    Some((
                        it.next()?.parse::<u32>().ok()?,
                        it.next()?.trim().parse::<u32>().ok()?,
                    ))
                });
                Err(match pos {
                    Some((line, col)) if line > offset && line <= last => {
                        format!("line {}, column {col}: {msg}", line - offset)
                    }
                    _ => format!(
                        "{msg} (at the end of the script: is a brace or parenthesis left open?)"
                    ),
                })
            }
            Err(e) => Err(describe(e, Duration::ZERO)),
        }
    })
}

#[async_trait]
impl ClaimsHook for Engine {
    async fn run(&self, req: HookRequest) -> Result<HookOutcome, HookError> {
        if req.scripts.is_empty() {
            return Ok(HookOutcome::default());
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.workers()
            .send(Job { req, reply })
            .map_err(|_| HookError::Internal("the script workers are gone".into()))?;
        answer
            .await
            .map_err(|_| HookError::Internal("a script worker stopped".into()))?
    }

    fn check(&self, kind: ScriptKind, code: &str) -> Result<(), String> {
        syntax_error(kind, code)
    }
}

/// For tests and the CLI: one script of `kind`.
pub fn script(name: &str, kind: ScriptKind, code: &str) -> HookScript {
    HookScript {
        name: name.to_owned(),
        kind,
        code: code.to_owned(),
        secrets: Map::new(),
    }
}

#[cfg(test)]
mod tests;
