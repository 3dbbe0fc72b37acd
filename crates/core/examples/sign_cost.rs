//! Measures what one JWT signature costs with Tessera's signer (aws-lc-rs keys parsed once)
//! against `jsonwebtoken::encode` (which parses the private key on every call), per algorithm.
//! Run: `cargo run --release -p tessera-core --example sign_cost`

use std::time::Instant;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use tessera_core::{
    keys::{PrivateKey, Signer, sign_compact},
    model::SigningAlg,
};

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn rate(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    f64::from(n) / t.elapsed().as_secs_f64()
}

fn main() {
    let claims = serde_json::json!({"iss": "http://127.0.0.1:3000/", "sub": "abc@clients", "aud": "https://api.example.com", "iat": 1, "exp": 2, "scope": "read:x", "gty": "client-credentials", "azp": "abc"});
    println!(
        "{:<7} {:>14} {:>22} {:>7}",
        "alg", "tessera (/s)", "jsonwebtoken (/s)", "ratio"
    );
    for (alg, jalg, n) in [
        (SigningAlg::RS256, Algorithm::RS256, 2_000),
        (SigningAlg::ES256, Algorithm::ES256, 20_000),
        (SigningAlg::EdDSA, Algorithm::EdDSA, 20_000),
    ] {
        let key = PrivateKey::generate(alg).expect("key");
        let kid = key.kid();
        let ours = rate(n, || {
            std::hint::black_box(
                sign_compact(Signer::Key(&key), "JWT", Some(&kid), &claims).unwrap(),
            );
        });
        let der = key.to_pkcs8();
        let ek = match alg {
            SigningAlg::RS256 => EncodingKey::from_rsa_pem(pem(&der).as_bytes()).expect("rsa pem"),
            SigningAlg::ES256 => EncodingKey::from_ec_der(&der),
            _ => EncodingKey::from_ed_der(&der),
        };
        let mut header = Header::new(jalg);
        header.kid = Some(kid.clone());
        let theirs = rate(n, || {
            std::hint::black_box(encode(&header, &claims, &ek).unwrap());
        });
        println!(
            "{:<7} {:>14.0} {:>22.0} {:>6.2}x",
            alg.as_str(),
            ours,
            theirs,
            ours / theirs
        );
    }
}
