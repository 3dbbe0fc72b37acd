//! The master key: AES-256-GCM over secrets at rest (signing keys, HS256 API secrets).
//! Ciphertext layout: 12-byte random nonce ‖ ciphertext ‖ 16-byte tag. The AAD binds each
//! ciphertext to its purpose (e.g. the key id), so a row cannot be swapped for another.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::{Engine, engine::general_purpose::STANDARD};

use crate::secret::random_bytes;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    #[error(
        "the master key must be 32 bytes, as 64 hexadecimal characters (`openssl rand -hex 32`) \
         or base64 (`openssl rand -base64 32`); got {0}"
    )]
    BadEncoding(String),
    #[error("a secret could not be decrypted: wrong master key or corrupt data")]
    Decrypt,
}

pub struct MasterKey {
    key: LessSafeKey,
    raw: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&random_bytes(32));
        Self::from_bytes(raw)
    }

    fn from_bytes(raw: [u8; 32]) -> Self {
        // A 32-byte key is always valid for AES-256-GCM.
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &raw).expect("32-byte AES key"));
        Self { key, raw }
    }

    /// Parses the key file or `TESSERA_MASTER_KEY`: 32 bytes as 64 hexadecimal characters (what
    /// `openssl rand -hex 32` prints) or in base64 (what Tessera writes).
    pub fn from_base64(s: &str) -> Result<Self, MasterKeyError> {
        let s = s.trim();
        if s.len() == 64
            && s.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(bytes) = hex::decode(s)
            && let Ok(raw) = <[u8; 32]>::try_from(bytes)
        {
            return Ok(Self::from_bytes(raw));
        }
        let bytes = STANDARD.decode(s).map_err(|e| {
            MasterKeyError::BadEncoding(format!("neither hexadecimal nor base64: {e}"))
        })?;
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| MasterKeyError::BadEncoding(format!("{} bytes", b.len())))?;
        Ok(Self::from_bytes(raw))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.raw)
    }

    pub fn encrypt(&self, plaintext: &[u8], aad: &str) -> Vec<u8> {
        let nonce_bytes = random_bytes(NONCE_LEN);
        let mut out = nonce_bytes.clone();
        let mut buf = plaintext.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes).expect("12-byte nonce");
        // Sealing only fails for inputs beyond GCM's 64 GiB limit.
        self.key
            .seal_in_place_append_tag(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .expect("AES-GCM seal");
        out.extend_from_slice(&buf);
        out
    }

    pub fn decrypt(&self, sealed: &[u8], aad: &str) -> Result<Vec<u8>, MasterKeyError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(MasterKeyError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Decrypt)?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| MasterKeyError::Decrypt)?;
        Ok(plain.to_vec())
    }

    /// Encrypt to base64 (for secrets kept inside JSON rows).
    pub fn encrypt_to_base64(&self, plaintext: &[u8], aad: &str) -> String {
        STANDARD.encode(self.encrypt(plaintext, aad))
    }

    pub fn decrypt_base64(&self, sealed: &str, aad: &str) -> Result<Vec<u8>, MasterKeyError> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| MasterKeyError::Decrypt)?;
        self.decrypt(&bytes, aad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_the_aad() {
        let k = MasterKey::generate();
        let sealed = k.encrypt(b"private key", "kid-1");
        assert_eq!(k.decrypt(&sealed, "kid-1").unwrap(), b"private key");
        assert_eq!(k.decrypt(&sealed, "kid-2"), Err(MasterKeyError::Decrypt));
        let other = MasterKey::generate();
        assert_eq!(
            other.decrypt(&sealed, "kid-1"),
            Err(MasterKeyError::Decrypt)
        );
        assert_eq!(
            k.decrypt(&sealed[..10], "kid-1"),
            Err(MasterKeyError::Decrypt)
        );
    }

    #[test]
    fn base64_form_round_trips_and_rejects_bad_lengths() {
        let k = MasterKey::generate();
        let again = MasterKey::from_base64(&k.to_base64()).unwrap();
        let sealed = k.encrypt(b"x", "a");
        assert_eq!(again.decrypt(&sealed, "a").unwrap(), b"x");
        // `openssl rand -hex 32`: the same key as its base64 form.
        let k = MasterKey::generate();
        let hex = hex::encode(STANDARD.decode(k.to_base64()).unwrap());
        let from_hex = MasterKey::from_base64(&format!("{hex}\n")).unwrap();
        assert_eq!(from_hex.to_base64(), k.to_base64());
        assert_eq!(
            MasterKey::from_base64(&hex.to_uppercase())
                .unwrap()
                .to_base64(),
            k.to_base64()
        );
        let short = MasterKey::from_base64(&hex[..62]).unwrap_err().to_string();
        assert!(
            short.contains("hexadecimal") && short.contains("base64"),
            "{short}"
        );
        assert!(matches!(
            MasterKey::from_base64("c2hvcnQ="),
            Err(MasterKeyError::BadEncoding(_))
        ));
        assert!(matches!(
            MasterKey::from_base64("%%%"),
            Err(MasterKeyError::BadEncoding(_))
        ));
    }
}
