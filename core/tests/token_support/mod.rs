//! OAuth2 bearer tokens the test Dovecots accept: HS256 JWTs signed with the key
//! `scripts/mail-servers` made (their `oauth2` passdb checks them locally).
#![allow(dead_code, unreachable_pub)]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The signing key (base64).
pub const KEY: &str = "/etc/mailwright-test/oauth2/keys/default/HS256/default";

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(msg).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// A JWT for `sub`, expiring `valid_for` seconds from now (negative: already expired).
pub fn jwt(sub: &str, valid_for: i64) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let key = base64::engine::general_purpose::STANDARD
        .decode(std::fs::read_to_string(KEY).expect("key").trim())
        .expect("base64 key");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("time").as_secs() as i64;
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let iat = now - 600;
    let claims = b64(format!(r#"{{"sub":"{sub}","iat":{iat},"exp":{}}}"#, now + valid_for).as_bytes());
    let signing = format!("{header}.{claims}");
    let sig = b64(&hmac_sha256(&key, signing.as_bytes()));
    format!("{signing}.{sig}")
}
