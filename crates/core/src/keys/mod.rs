//! Keys: the master key that encrypts secrets at rest, signing key generation, JWKs (RFC 7517,
//! RFC 7638 thumbprints), JWS compact signing (RFC 7515) and the per-tenant key ring.

mod hs256;
mod jwk;
mod jws;
mod master;
mod ring;
mod verify;

pub use hs256::{hs256_aad, hs256_secret};
pub use jwk::{PrivateKey, thumbprint};
pub use jws::{JwsHeader, Signer, sign_compact};
pub use master::{MasterKey, MasterKeyError};
pub use ring::{KeyRing, KeyRingError, PUBLISH_AFTER_ROTATION, new_key_record, rotate_key};
pub use verify::{JwtError, jwt_header, verify_hmac, verify_with};
