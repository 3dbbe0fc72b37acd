//! User passwords: argon2id (RFC 9106) PHC strings, OWASP's minimum parameters
//! (19 MiB, 2 passes, 1 lane). Hashing is CPU-bound: callers run it off the async executor.

use std::{sync::OnceLock, time::Duration};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};

pub const MIN_LENGTH: usize = 8;
/// Bounds the work one request can ask of the hasher.
pub const MAX_LENGTH: usize = 1024;

fn hasher() -> Argon2<'static> {
    // These parameters are within argon2's limits, so `new` cannot fail.
    let params = Params::new(19 * 1024, 2, 1, None).expect("argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the password policy: 8 to 1024 characters.
pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(format!(
            "the password must have at least {MIN_LENGTH} characters"
        ));
    }
    if password.len() > MAX_LENGTH {
        return Err(format!("the password must have at most {MAX_LENGTH} bytes"));
    }
    Ok(())
}

pub fn hash(password: &str) -> String {
    let salt_bytes = crate::secret::random_bytes(16);
    // 16 bytes is a valid salt length, and hashing with valid parameters cannot fail.
    let salt = SaltString::encode_b64(&salt_bytes).expect("salt");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id hash")
        .to_string()
}

/// A password check handed to the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// A hashing thread idle this long gives its argon2 memory back to the system.
const KEEP_MEMORY_FOR: Duration = Duration::from_secs(2);

/// The hashing threads: one per core the process may run on, started on first use. At most one
/// hash per core runs at a time, so a login flood queues here instead of exhausting memory
/// (each thread keeps its own 19 MiB of argon2 memory while busy, and there are no others) or
/// starving the async executor. The threads run at a lower priority (nice +5), so when logins
/// and token requests compete for a core, token requests come first and logins take the rest.
fn hashers() -> &'static flume::Sender<Job> {
    static TX: OnceLock<flume::Sender<Job>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = flume::unbounded::<Job>();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for i in 0..cores {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("tessera-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match rx.recv_timeout(KEEP_MEMORY_FOR) {
                            Ok(job) => job,
                            Err(flume::RecvTimeoutError::Timeout) => {
                                release_memory();
                                match rx.recv() {
                                    Ok(job) => job,
                                    Err(_) => return,
                                }
                            }
                            Err(flume::RecvTimeoutError::Disconnected) => return,
                        };
                        job();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        tx
    })
}

/// Nice +5 for the calling thread (Linux threads have their own nice value).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread's id only reads its arguments.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 5);
    }
}

/// [`verify`] on the hashing threads. `stored = None` (no such user) still spends one hash, so
/// response times do not reveal which emails exist.
pub async fn verify_pooled(stored: Option<String>, password: String) -> bool {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let ok = match stored {
            Some(h) => verify_reusing_memory(&h, &password),
            None => {
                verify_reusing_memory(dummy_hash(), &password);
                false
            }
        };
        let _ = tx.send(ok);
    });
    if let Err(flume::SendError(job)) = hashers().send(job) {
        // No hashing thread could be started: check here rather than refuse every login.
        job();
    }
    rx.await.unwrap_or(false)
}

/// What an unknown user's password is checked against: a hash made by [`hash`], so it costs
/// exactly what a real user's check costs.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash("tessera-dummy-password"))
}

thread_local! {
    /// The argon2 memory of this (hashing) thread, kept between checks while logins keep
    /// coming: one allocation per burst instead of 19 MiB of fresh pages, and page faults, per
    /// login.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Frees this thread's argon2 memory (an idle server goes back to its idle size).
fn release_memory() {
    MEMORY.with(|m| *m.borrow_mut() = Vec::new());
}

/// [`verify`] computing into this thread's reusable argon2 memory. Hashes whose parameters
/// would need more than 64 MiB, or that are not argon2, take the plain path.
fn verify_reusing_memory(stored: &str, password: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(alg), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return verify(stored, password);
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    if params.block_count() > 64 * 1024 {
        return verify(stored, password);
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let hashed = MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < params.block_count() {
            m.resize(params.block_count(), argon2::Block::default());
        }
        let blocks = params.block_count();
        Argon2::new(alg, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            &mut m[..blocks],
        )
    });
    hashed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// `false` for a wrong password and for a stored hash that does not parse.
pub fn verify(stored: &str, password: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_users_check_costs_what_a_real_one_costs() {
        // Same algorithm, version and cost parameters as a stored hash: the login page answers
        // an unknown email as slowly as a wrong password (no user enumeration by timing).
        let params = |h: &str| h.rsplitn(3, '$').nth(2).unwrap().to_owned();
        assert_eq!(params(dummy_hash()), params(&hash("x")));
        assert!(!verify(dummy_hash(), ""));
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "wrong horse"));
        assert!(!verify("not a phc string", "correct horse"));
        assert_ne!(h, hash("correct horse"), "salts differ");
    }

    #[test]
    fn the_reusing_path_agrees_with_the_plain_one() {
        let h = hash("correct horse");
        for _ in 0..2 {
            assert!(verify_reusing_memory(&h, "correct horse"));
            assert!(!verify_reusing_memory(&h, "correct horsf"));
        }
        // Other parameters (an imported hash) and argon2i/argon2d verify too.
        let params = Params::new(8 * 1024, 3, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        for alg in [Algorithm::Argon2i, Algorithm::Argon2d, Algorithm::Argon2id] {
            let other = Argon2::new(alg, Version::V0x13, params.clone())
                .hash_password(b"pw-123456", &salt)
                .unwrap()
                .to_string();
            assert!(verify_reusing_memory(&other, "pw-123456"), "{other}");
            assert!(!verify_reusing_memory(&other, "pw-123457"));
        }
        assert!(!verify_reusing_memory("garbage", "x"));
    }

    #[tokio::test]
    async fn pooled_checks_spend_a_hash_even_for_unknown_users() {
        let h = hash("correct horse");
        assert!(verify_pooled(Some(h.clone()), "correct horse".into()).await);
        assert!(!verify_pooled(Some(h), "nope".into()).await);
        assert!(!verify_pooled(None, "correct horse".into()).await);
    }

    /// A flood of concurrent checks runs on the hashing threads only: one per core, at nice +5,
    /// each answering correctly. (A check on tokio's blocking pool would start a thread, and
    /// keep 19 MiB, per concurrent login.)
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_checks_runs_on_one_low_priority_thread_per_core() {
        let h = hash("correct horse");
        let checks: Vec<_> = (0..12)
            .map(|i| {
                let (h, pw) = (h.clone(), if i % 2 == 0 { "correct horse" } else { "nope" });
                tokio::spawn(verify_pooled(Some(h), pw.to_owned()))
            })
            .collect();
        for (i, c) in checks.into_iter().enumerate() {
            assert_eq!(c.await.unwrap(), i % 2 == 0, "check {i}");
        }
        let mut hashers = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if name.starts_with("tessera-hash-") {
                let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
                // Field 19 is the nice value; fields after the ")" start at 3.
                let nice: i32 = stat
                    .rsplit(')')
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .nth(16)
                    .unwrap()
                    .parse()
                    .unwrap();
                hashers.push(nice);
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(hashers.len(), cores, "one hashing thread per core");
        assert!(hashers.iter().all(|n| *n == 5), "nice values {hashers:?}");
    }

    #[test]
    fn policy_bounds_length() {
        assert!(check_policy("short").is_err());
        assert!(check_policy("long enough").is_ok());
        assert!(check_policy(&"x".repeat(MAX_LENGTH + 1)).is_err());
    }
}
