//! tessera-core: the protocol. OAuth 2.0 (RFC 6749) and OpenID Connect request validation,
//! grants, token minting, the key ring and the error codes. It knows nothing of HTTP or SQL:
//! storage is reached through the traits in [`store`], time through [`clock::Clock`].

pub mod attack;
pub mod authorize;
pub mod clock;
pub mod context;
pub mod discovery;
pub mod error;
pub mod grant;
pub mod hooks;
pub mod issue;
pub mod keys;
pub mod login;
pub mod logout;
pub mod manage;
pub mod memory;
pub mod model;
pub mod net;
pub mod password;
pub mod pkce;
pub mod rbac;
pub mod scope;
pub mod scripts;
pub mod secret;
pub mod store;
pub mod time;
pub mod userinfo;
pub mod validate;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{ErrorCode, OAuthError};
pub use store::{Store, StoreError};
