//! One script run on QuickJS. Every run gets a runtime and a context of its own, so it starts
//! from pristine built-ins and an empty global object, and nothing it leaves behind (globals,
//! patched built-ins, queued jobs, garbage) outlives it. What is kept between runs is compiled
//! bytecode only: plain bytes, keyed by the SHA-256 of the wrapped source, shared by the worker
//! threads and loaded into each run's fresh context.
//!
//! The result does not cross as JSON the script could have re-encoded: the wrapper records
//! each `api` call in an object the host made, out of the script's reach, and the host
//! encodes that object with QuickJS's own JSON encoder (`ctx.json_stringify`), not the
//! script's `JSON.stringify`; the record and its entries have no prototype, so no `toJSON`
//! the script defines on `Object.prototype` or `Array.prototype` applies to them.

use std::{
    cell::Cell,
    collections::HashMap,
    ffi::CString,
    rc::Rc,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use aws_lc_rs::digest;
use rquickjs::{
    Array, CaughtError, Context, Ctx, Error, Function, Object, Promise, Runtime, Value,
    promise::PromiseState, qjs,
};
use serde_json::{Map, Value as Json};

/// One `api` call (or console line) the script made, in order: `kind` and two operands.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub kind: String,
    pub a: Json,
    pub b: Json,
}

/// Compiled scripts are kept this many at most, and this many bytes.
const MAX_COMPILED: usize = 256;
const MAX_COMPILED_BYTES: usize = 16 * 1024 * 1024;

/// Stack frames of the wrapped source are reported under this name (syntax errors read it).
const FILE_NAME: &std::ffi::CStr = c"eval_script";

struct Compiled {
    bytecode: Arc<[u8]>,
    last_used: u64,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<[u8; 32], Compiled>,
    bytes: usize,
    clock: u64,
}

impl Cache {
    fn get(&mut self, key: &[u8; 32]) -> Option<Arc<[u8]>> {
        self.clock += 1;
        let e = self.entries.get_mut(key)?;
        e.last_used = self.clock;
        Some(e.bytecode.clone())
    }

    fn insert(&mut self, key: [u8; 32], bytecode: Arc<[u8]>) {
        if bytecode.len() > MAX_COMPILED_BYTES / 4 {
            return;
        }
        self.clock += 1;
        self.bytes += bytecode.len();
        let old = self.entries.insert(
            key,
            Compiled {
                bytecode,
                last_used: self.clock,
            },
        );
        self.bytes -= old.map_or(0, |o| o.bytecode.len());
        while self.entries.len() > MAX_COMPILED || self.bytes > MAX_COMPILED_BYTES {
            let Some(lru) = self
                .entries
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(gone) = self.entries.remove(&lru) {
                self.bytes -= gone.bytecode.len();
            }
        }
    }
}

/// Shared by the worker threads: bytecode is plain bytes, valid in any runtime of this
/// process, so a script is parsed once whichever thread runs it next.
static COMPILED: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

fn cache() -> std::sync::MutexGuard<'static, Cache> {
    // The cache holds plain bytes; a panic while it was locked leaves nothing half-written
    // that matters (at worst an entry's byte count), so keep using it.
    COMPILED.lock().unwrap_or_else(|e| e.into_inner())
}

fn key(source: &str) -> [u8; 32] {
    let mut k = [0; 32];
    k.copy_from_slice(digest::digest(&digest::SHA256, source.as_bytes()).as_ref());
    k
}

/// A script failure as the user will read it.
pub fn describe(e: CaughtError<'_>, limit: Duration) -> String {
    match e {
        CaughtError::Exception(ex) => {
            let msg = ex.message().unwrap_or_default();
            if msg == "interrupted" {
                time_limit(limit)
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
        CaughtError::Error(Error::WouldBlock) => {
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

fn time_limit(limit: Duration) -> String {
    format!(
        "it ran longer than its time limit ({} ms)",
        limit.as_millis()
    )
}

/// Compiles `source` as a strict global script without running it: a function-bytecode value.
pub fn compile<'js>(ctx: &Ctx<'js>, source: &str) -> rquickjs::Result<Value<'js>> {
    let src = CString::new(source)?;
    let flags =
        qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_STRICT | qjs::JS_EVAL_FLAG_COMPILE_ONLY;
    // SAFETY: `src` is NUL-terminated and outlives the call, as JS_Eval requires; the result is
    // either JS_EXCEPTION (left pending on `ctx`) or a value we own, handed to `Value`.
    unsafe {
        let v = qjs::JS_Eval(
            ctx.as_raw().as_ptr(),
            src.as_ptr(),
            source.len() as _,
            FILE_NAME.as_ptr(),
            flags as i32,
        );
        owned(ctx, v)
    }
}

/// # Safety
/// `v` must be a value returned by QuickJS on `ctx`, owned by the caller.
unsafe fn owned<'js>(ctx: &Ctx<'js>, v: qjs::JSValue) -> rquickjs::Result<Value<'js>> {
    // SAFETY: per the contract above.
    unsafe {
        if qjs::JS_IsException(v) {
            Err(Error::Exception)
        } else {
            Ok(Value::from_raw(ctx.clone(), v))
        }
    }
}

/// The bytecode of a compiled script.
fn write<'js>(ctx: &Ctx<'js>, compiled: &Value<'js>) -> rquickjs::Result<Arc<[u8]>> {
    let mut len: qjs::size_t = 0;
    // SAFETY: `compiled` is a live value of `ctx`; on success QuickJS returns a buffer of `len`
    // bytes allocated on `ctx`, copied here and then freed with js_free.
    unsafe {
        let ptr = ctx.as_raw().as_ptr();
        let buf = qjs::JS_WriteObject(
            ptr,
            &mut len,
            compiled.as_raw(),
            qjs::JS_WRITE_OBJ_BYTECODE as i32,
        );
        if buf.is_null() {
            return Err(Error::Exception);
        }
        let bytes = Arc::from(std::slice::from_raw_parts(buf, len as usize));
        qjs::js_free(ptr, buf.cast());
        Ok(bytes)
    }
}

/// Loads bytecode written by [`write`] into `ctx`.
fn read<'js>(ctx: &Ctx<'js>, bytecode: &[u8]) -> rquickjs::Result<Value<'js>> {
    // SAFETY: `bytecode` was produced by JS_WriteObject in this process (the cache
    // holds nothing else), so it is valid bytecode for this QuickJS; without
    // JS_READ_OBJ_ROM_DATA, QuickJS copies what it keeps, so the slice need not outlive `ctx`.
    unsafe {
        let v = qjs::JS_ReadObject(
            ctx.as_raw().as_ptr(),
            bytecode.as_ptr(),
            bytecode.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        );
        owned(ctx, v)
    }
}

/// Runs a compiled script (top level) and returns its completion value.
fn eval_compiled<'js>(ctx: &Ctx<'js>, compiled: Value<'js>) -> rquickjs::Result<Value<'js>> {
    // SAFETY: JS_EvalFunction takes ownership of its argument: the duplicated reference is the
    // one it frees, `compiled` drops its own.
    unsafe {
        let ptr = ctx.as_raw().as_ptr();
        let v = qjs::JS_EvalFunction(ptr, qjs::JS_DupValue(ptr, compiled.as_raw()));
        owned(ctx, v)
    }
}

/// The wrapped script's value, `[user code, wrapper]`, from this thread's bytecode if it has
/// compiled the same source before.
fn load<'js>(ctx: &Ctx<'js>, source: &str) -> rquickjs::Result<Value<'js>> {
    let key = key(source);
    // The lock is held for the lookup only (compiling happens outside it).
    let hit = cache().get(&key);
    let compiled = match hit {
        Some(bytecode) => read(ctx, &bytecode)?,
        None => {
            let compiled = compile(ctx, source)?;
            let bytecode = write(ctx, &compiled)?;
            cache().insert(key, bytecode);
            compiled
        }
    };
    eval_compiled(ctx, compiled)
}

/// Drives the job queue until `p` settles, for as long as the run's time allows.
fn settle<'js>(ctx: &Ctx<'js>, p: &Promise<'js>, deadline: Instant) -> Result<(), Failure> {
    loop {
        match p.state() {
            PromiseState::Resolved => return Ok(()),
            PromiseState::Rejected => {
                return Err(match p.result::<Value>() {
                    Some(Err(e)) => e.into(),
                    _ => Error::Unknown.into(),
                });
            }
            PromiseState::Pending if Instant::now() > deadline => return Err(Failure::TimedOut),
            PromiseState::Pending => {
                if !ctx.execute_pending_job() {
                    return Err(Error::WouldBlock.into());
                }
            }
        }
    }
}

/// The ops the wrapper recorded in `record`: encoded by QuickJS itself, in the run's heap and
/// within its memory limit (not the script's `JSON.stringify`; a script's `toJSON` still
/// applies to its own values), then read from `{"0": op, "1": op, …}` up to the first gap.
fn read_ops<'js>(ctx: &Ctx<'js>, record: &Object<'js>) -> Result<Vec<Op>, Failure> {
    let text = match ctx.json_stringify(record.clone())? {
        Some(text) => text.to_string()?,
        None => String::new(),
    };
    let mut record: Map<String, Json> =
        serde_json::from_str(&text).map_err(|e| Failure::Message(format!("its result: {e}")))?;
    let mut ops = Vec::new();
    while let Some(Json::Object(mut op)) = record.remove(&ops.len().to_string()) {
        let Some(Json::String(kind)) = op.remove("0") else {
            break;
        };
        ops.push(Op {
            kind,
            a: op.remove("1").unwrap_or(Json::Null),
            b: op.remove("2").unwrap_or(Json::Null),
        });
    }
    Ok(ops)
}

/// Why a run failed, before it is put in words (an exception is still pending on the context).
enum Failure {
    Js(Error),
    TimedOut,
    Message(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Js(e)
    }
}

impl Failure {
    fn describe(self, ctx: &Ctx<'_>, limit: Duration) -> String {
        match self {
            Failure::Js(e) => describe(CaughtError::from_error(ctx, e), limit),
            Failure::TimedOut => time_limit(limit),
            Failure::Message(m) => m,
        }
    }
}

/// A fresh QuickJS runtime and context for one script run, with its memory limit and an
/// interrupt handler that reads the run's deadline. A worker makes the next one while it waits
/// for work and drops a spent one after answering, so neither is on a login's path. Fields
/// drop in order: the context before its runtime.
pub struct Sandbox {
    context: Context,
    _runtime: Runtime,
    deadline: Rc<Cell<Instant>>,
}

impl Sandbox {
    pub fn new(memory_limit: usize) -> Result<Self, String> {
        let runtime = Runtime::new().map_err(|e| e.to_string())?;
        runtime.set_memory_limit(memory_limit);
        runtime.set_max_stack_size(512 * 1024);
        // Already past until a run sets its deadline: nothing runs in a sandbox before.
        let deadline = Rc::new(Cell::new(Instant::now()));
        let d = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || Instant::now() > d.get())));
        let context = Context::full(&runtime).map_err(|e| e.to_string())?;
        Ok(Self {
            context,
            _runtime: runtime,
            deadline,
        })
    }
}

/// Runs one wrapped script (see `wrap`) in a sandbox of its own: evaluates it, calls the
/// wrapper with the user code, a record to fill and `args` (JSON texts, parsed by the host),
/// settles the promise it returns, and reads the record. The sandbox is spent afterwards.
pub fn execute_in(
    sandbox: &Sandbox,
    source: &str,
    args: [&str; 3],
    limit: Duration,
) -> Result<Vec<Op>, String> {
    let deadline = Instant::now() + limit;
    sandbox.deadline.set(deadline);
    sandbox
        .context
        .with(|ctx| run(&ctx, source, args, deadline).map_err(|f| f.describe(&ctx, limit)))
}

/// [`execute_in`] a sandbox made for the call.
#[cfg(test)]
pub fn execute(
    source: &str,
    args: [&str; 3],
    memory_limit: usize,
    limit: Duration,
) -> Result<Vec<Op>, String> {
    execute_in(&Sandbox::new(memory_limit)?, source, args, limit)
}

fn run<'js>(
    ctx: &Ctx<'js>,
    source: &str,
    [a, b, c]: [&str; 3],
    deadline: Instant,
) -> Result<Vec<Op>, Failure> {
    let record = Object::new(ctx.clone())?;
    record.set_prototype(None)?;
    let script: Array = load(ctx, source)?.get()?;
    let user: Value = script.get(0)?;
    let wrapper: Function = script.get(1)?;
    let args = (
        record.clone(),
        user,
        ctx.json_parse(a)?,
        ctx.json_parse(b)?,
        ctx.json_parse(c)?,
    );
    let p: Promise = wrapper.call(args)?;
    settle(ctx, &p, deadline)?;
    read_ops(ctx, &record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_its_bounds_and_the_recent_entries() {
        let mut cache = Cache::default();
        for i in 0..(MAX_COMPILED + 10) {
            cache.insert(key(&i.to_string()), Arc::from(vec![0u8; 100]));
            // Entry 0 stays in use.
            assert!(cache.get(&key("0")).is_some(), "after {i}");
        }
        assert_eq!(cache.entries.len(), MAX_COMPILED);
        assert_eq!(cache.bytes, MAX_COMPILED * 100);
        assert!(cache.get(&key("1")).is_none());
        assert!(cache.get(&key(&(MAX_COMPILED + 9).to_string())).is_some());
        let big: Arc<[u8]> = Arc::from(vec![0u8; MAX_COMPILED_BYTES / 5]);
        for i in 0..6 {
            cache.insert(key(&format!("big{i}")), big.clone());
        }
        assert!(cache.bytes <= MAX_COMPILED_BYTES);
        let sum: usize = cache.entries.values().map(|c| c.bytecode.len()).sum();
        assert_eq!(sum, cache.bytes);
    }
}
