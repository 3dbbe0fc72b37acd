//! User passwords: argon2id (RFC 9106) PHC strings, OWASP's minimum parameters
//! (19 MiB, 2 passes, 1 lane). Hashing is CPU-bound: callers run it off the async executor.

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

/// At most one hash per core at a time: a login flood queues here instead of exhausting memory
/// (19 MiB per hash) or starving the async executor.
fn pool() -> &'static tokio::sync::Semaphore {
    static POOL: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// [`verify`] on the blocking thread pool, one hash per core at a time. `stored = None` (no such
/// user) still spends one hash, so response times do not reveal which emails exist.
pub async fn verify_pooled(stored: Option<String>, password: String) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let Ok(_permit) = pool().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || match stored {
        Some(h) => verify_reusing_memory(&h, &password),
        None => {
            let dummy = DUMMY.get_or_init(|| hash("tessera-dummy-password"));
            verify_reusing_memory(dummy, &password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

thread_local! {
    /// The argon2 memory of this (hashing) thread, kept between checks: one allocation per
    /// thread instead of 19 MiB of fresh pages, and page faults, per login.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
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

    #[test]
    fn policy_bounds_length() {
        assert!(check_policy("short").is_err());
        assert!(check_policy("long enough").is_ok());
        assert!(check_policy(&"x".repeat(MAX_LENGTH + 1)).is_err());
    }
}
