//! tessera-actions: Auth0-style Actions and Rules in JavaScript, run by QuickJS (rquickjs)
//! behind core's [`ClaimsHook`]. Each script runs in a fresh context on a runtime kept per
//! worker thread, with a memory limit and a time limit (an interrupt handler), so a throwing,
//! looping or memory-hungry script fails its own login and nothing else. Scripts see no host
//! functions: input and output cross as JSON text.

mod wrap;

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    hash::{Hash, Hasher},
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use rquickjs::{CatchResultExt, CaughtError, Context, Function, Persistent, Promise, Runtime};
use serde_json::{Map, Value, json};
use tessera_core::{
    hooks::{ClaimsHook, Denial, HookError, HookOutcome, HookRequest, HookScript, SetClaim},
    model::ScriptKind,
};

/// Default memory limit per script execution.
pub const DEFAULT_MEMORY_LIMIT: usize = 32 * 1024 * 1024;

pub struct Engine {
    memory_limit: usize,
    /// Scripts run on the blocking pool, at most this many at once.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Engine {
    pub fn new(memory_limit: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            memory_limit,
            slots: Arc::new(tokio::sync::Semaphore::new(cores * 2)),
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_LIMIT)
    }
}

/// A worker thread's engine. Compiled scripts are kept in one context per thread (like Auth0's
/// reused containers), so a run neither creates a context nor parses the script again; any
/// failure throws the context and its compiled scripts away, so what a failing script did
/// cannot reach the next run. Fields drop in order: compiled functions before their context,
/// the context before its runtime.
struct Worker {
    compiled: HashMap<u64, Persistent<Function<'static>>>,
    context: Option<Context>,
    runtime: Runtime,
    deadline: Rc<Cell<Instant>>,
}

/// Compiled scripts kept per thread before the cache starts over.
const MAX_COMPILED: usize = 256;

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

fn with_worker<T>(memory_limit: usize, f: impl FnOnce(&mut Worker) -> T) -> Result<T, HookError> {
    WORKER.with(|w| {
        let mut w = w.borrow_mut();
        if w.is_none() {
            let runtime = Runtime::new().map_err(|e| HookError::Internal(e.to_string()))?;
            let deadline = Rc::new(Cell::new(Instant::now()));
            let d = deadline.clone();
            runtime.set_interrupt_handler(Some(Box::new(move || Instant::now() > d.get())));
            runtime.set_max_stack_size(512 * 1024);
            *w = Some(Worker {
                compiled: HashMap::new(),
                context: None,
                runtime,
                deadline,
            });
        }
        let worker = w
            .as_mut()
            .ok_or_else(|| HookError::Internal("no runtime".into()))?;
        worker.runtime.set_memory_limit(memory_limit);
        Ok(f(worker))
    })
}

/// A script failure as the user will read it.
fn describe(e: CaughtError<'_>, limit: Duration) -> String {
    match e {
        CaughtError::Exception(ex) => {
            let msg = ex.message().unwrap_or_default();
            if msg == "interrupted" {
                format!(
                    "it ran longer than its time limit ({} ms)",
                    limit.as_millis()
                )
            } else if msg.contains("out of memory") {
                "it ran out of memory".into()
            } else {
                let name = ex
                    .get::<_, Option<String>>("name")
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "Error".into());
                format!("{name}: {msg}")
            }
        }
        CaughtError::Value(v) => {
            let text = v
                .as_string()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_else(|| format!("{:?}", v.type_of()));
            format!("threw {text}")
        }
        CaughtError::Error(rquickjs::Error::WouldBlock) => {
            "it never finished (a rule must call callback; an action's promise must settle)".into()
        }
        CaughtError::Error(e) => {
            let s = e.to_string();
            if s.contains("out of memory") || s.contains("Allocation") {
                "it ran out of memory".into()
            } else {
                s
            }
        }
    }
}

/// Runs one wrapped script: compile the wrapper (once per thread), call it with `args`,
/// settle the promise.
fn execute(
    worker: &mut Worker,
    source: &str,
    args: (String, String, String),
    limit: Duration,
) -> Result<String, String> {
    if worker.context.is_none() {
        worker.context = Some(Context::full(&worker.runtime).map_err(|e| e.to_string())?);
    }
    let Some(context) = worker.context.clone() else {
        return Err("no script context".into());
    };
    let key = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        source.hash(&mut h);
        h.finish()
    };
    worker.deadline.set(Instant::now() + limit);
    let compiled = &mut worker.compiled;
    let result = context.with(|ctx| {
        let f: Function = match compiled.get(&key) {
            Some(p) => p.clone().restore(&ctx).map_err(|e| e.to_string())?,
            None => {
                let f: Function = ctx
                    .eval(source)
                    .catch(&ctx)
                    .map_err(|e| describe(e, limit))?;
                if compiled.len() >= MAX_COMPILED {
                    compiled.clear();
                }
                compiled.insert(key, Persistent::save(&ctx, f.clone()));
                f
            }
        };
        let p: Promise = f.call(args).catch(&ctx).map_err(|e| describe(e, limit))?;
        p.finish::<String>()
            .catch(&ctx)
            .map_err(|e| describe(e, limit))
    });
    if result.is_err() {
        // Whatever the script left behind goes with it.
        worker.compiled.clear();
        worker.context = None;
        worker.runtime.run_gc();
    }
    result
}

fn claims_from_pairs(script: &str, v: &Value) -> Vec<SetClaim> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|pair| {
            Some(SetClaim {
                script: script.to_owned(),
                name: pair.get(0)?.as_str()?.to_owned(),
                value: pair.get(1).cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// A script's `console.*` lines, into the server's log with the script's name.
fn log_console(script: &str, v: &Value) {
    for entry in v.as_array().into_iter().flatten() {
        let level = entry.get(0).and_then(Value::as_str).unwrap_or("info");
        let text = entry.get(1).and_then(Value::as_str).unwrap_or("");
        match level {
            "error" => tracing::error!(script, "console: {text}"),
            "warn" => tracing::warn!(script, "console: {text}"),
            "debug" => tracing::debug!(script, "console: {text}"),
            _ => tracing::info!(script, "console: {text}"),
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
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

fn run_blocking(req: HookRequest, memory_limit: usize) -> Result<HookOutcome, HookError> {
    let mut out = HookOutcome::default();
    let mut rule_access = Map::new();
    let mut rule_id = Map::new();
    let event_json = req.event.to_string();
    for script in req.scripts.iter() {
        let fail = |message: String| HookError::Script {
            script: script.name.clone(),
            message,
        };
        let secrets = Value::Object(script.secrets.clone()).to_string();
        match script.kind {
            ScriptKind::Rule => {
                let (user, context) = rule_inputs(&req.event, &rule_access, &rule_id);
                let source = wrap::rule(&script.code);
                let result = with_worker(memory_limit, |w| {
                    execute(
                        w,
                        &source,
                        (user.to_string(), context.to_string(), secrets),
                        req.time_limit,
                    )
                })?;
                let text = match result {
                    Ok(t) => t,
                    Err(msg) if msg.starts_with("UnauthorizedError: ") => {
                        out.deny = Some(Denial {
                            script: script.name.clone(),
                            code: None,
                            reason: msg.trim_start_matches("UnauthorizedError: ").to_owned(),
                        });
                        return Ok(out);
                    }
                    Err(msg) => return Err(fail(msg)),
                };
                let v: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
                log_console(&script.name, &v["logs"]);
                for (target, sink, key) in [
                    (&mut rule_access, &mut out.access_claims, "accessToken"),
                    (&mut rule_id, &mut out.id_claims, "idToken"),
                ] {
                    for (name, value) in v[key].as_object().cloned().unwrap_or_default() {
                        if target.get(&name) != Some(&value) {
                            sink.push(SetClaim {
                                script: script.name.clone(),
                                name: name.clone(),
                                value: value.clone(),
                            });
                            target.insert(name, value);
                        }
                    }
                }
            }
            ScriptKind::Action => {
                let source = wrap::action(&script.code);
                let export = req.trigger.export_name().to_owned();
                let result = with_worker(memory_limit, |w| {
                    execute(
                        w,
                        &source,
                        (event_json.clone(), secrets, export),
                        req.time_limit,
                    )
                })?;
                let text = result.map_err(fail)?;
                let v: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
                log_console(&script.name, &v["logs"]);
                out.access_claims
                    .extend(claims_from_pairs(&script.name, &v["access"]));
                out.id_claims
                    .extend(claims_from_pairs(&script.name, &v["id"]));
                out.add_scopes.extend(strings(&v["addScopes"]));
                out.remove_scopes.extend(strings(&v["removeScopes"]));
                for (k, val) in v["app"].as_object().cloned().unwrap_or_default() {
                    out.app_metadata.insert(k, val);
                }
                for (k, val) in v["user"].as_object().cloned().unwrap_or_default() {
                    out.user_metadata.insert(k, val);
                }
                if let Some(d) = v["deny"].as_object() {
                    out.deny = Some(Denial {
                        script: script.name.clone(),
                        code: d.get("code").and_then(Value::as_str).map(str::to_owned),
                        reason: d
                            .get("reason")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned(),
                    });
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// `line L, column C: message` from a compile error in the wrapped source.
fn syntax_error(kind: ScriptKind, code: &str) -> Result<(), String> {
    let (source, offset) = match kind {
        ScriptKind::Action => (wrap::action(code), wrap::ACTION_PREFIX_LINES),
        ScriptKind::Rule => (wrap::rule(code), wrap::RULE_PREFIX_LINES),
    };
    let runtime = Runtime::new().map_err(|e| e.to_string())?;
    runtime.set_memory_limit(DEFAULT_MEMORY_LIMIT);
    let ctx = Context::full(&runtime).map_err(|e| e.to_string())?;
    ctx.with(|ctx| {
        let r: Result<Function, _> = ctx.eval(source).catch(&ctx);
        match r {
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
                    Some((line, col)) if line > offset => {
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
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| HookError::Internal(e.to_string()))?;
        let limit = self.memory_limit;
        tokio::task::spawn_blocking(move || run_blocking(req, limit))
            .await
            .map_err(|e| HookError::Internal(format!("script worker: {e}")))?
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
