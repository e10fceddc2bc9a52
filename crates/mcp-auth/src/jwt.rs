//! JWT client assertions for `private_key_jwt` client authentication (RFC 7523 §2.2, RFC 7521
//! §4.2), signed ES256 with `ring`, and the PEM parsing of their PKCS#8 keys.
//!
//! An assertion is `BASE64URL(header).BASE64URL(claims).BASE64URL(signature)`, the header
//! `{"alg":"ES256","typ":"JWT"}`, the claims `iss` = `sub` = the client id, `aud` = the
//! authorization server's issuer, `iat`, `exp` ([`ASSERTION_LIFETIME`] later) and a random
//! `jti`; the signature is the fixed-size `r || s` (64 bytes) RFC 7518 §3.4 asks for.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mcp_config::SigningAlg;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

use crate::secret::Secret;

/// How long an assertion is valid: long enough for one token request, short enough that a
/// captured one is soon useless.
pub(crate) const ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// The `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Why a key cannot sign. The message never quotes the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum KeyError {
    #[error("it is not PEM (no `-----BEGIN PRIVATE KEY-----` line)")]
    NotPem,
    #[error(
        "it is a SEC1 `EC PRIVATE KEY`, not PKCS#8; convert it with `openssl pkcs8 -topk8 \
         -nocrypt -in KEY -out KEY.pk8.pem`"
    )]
    Sec1,
    #[error("it is a PEM `{0}`, not a PKCS#8 `PRIVATE KEY`")]
    OtherPem(String),
    #[error("its PEM body is not valid base64")]
    Base64,
    #[error("it is not an unencrypted PKCS#8 P-256 key, which ES256 needs ({0})")]
    Rejected(String),
    #[error("no random numbers: {0}")]
    Random(String),
}

/// A loaded signing key.
pub(crate) struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// The key of `pem`, a PKCS#8 PEM document (`-----BEGIN PRIVATE KEY-----`), for `alg`.
    pub(crate) fn from_pem(pem: &Secret, alg: SigningAlg) -> Result<SigningKey, KeyError> {
        let der = pkcs8_der(pem.expose())?;
        let rng = SystemRandom::new();
        let pair = match alg {
            SigningAlg::Es256 => {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                    .map_err(|e| KeyError::Rejected(e.to_string()))?
            }
            // SigningAlg is non_exhaustive: a new algorithm must be taught here first.
            _ => return Err(KeyError::Rejected(format!("{} is not supported", alg.as_str()))),
        };
        Ok(SigningKey { pair, rng })
    }

    /// A signed assertion for `client_id`, addressed to `audience`, issued at `now`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: SystemTime,
    ) -> Result<String, KeyError> {
        let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        self.rng.fill(&mut jti).map_err(|e| KeyError::Random(e.to_string()))?;
        let header = json!({"alg": "ES256", "typ": "JWT"});
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME.as_secs(),
            "jti": URL_SAFE_NO_PAD.encode(jti),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
    }
}

/// The DER of the first PKCS#8 `PRIVATE KEY` block of `pem`.
fn pkcs8_der(pem: &str) -> Result<Vec<u8>, KeyError> {
    let mut lines = pem.lines().map(str::trim).skip_while(|line| !line.starts_with("-----BEGIN "));
    let begin = lines.next().ok_or(KeyError::NotPem)?;
    let label = begin
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .ok_or(KeyError::NotPem)?;
    match label {
        "PRIVATE KEY" => {}
        "EC PRIVATE KEY" => return Err(KeyError::Sec1),
        other => return Err(KeyError::OtherPem(other.chars().take(40).collect())),
    }
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    for line in lines {
        if line == end {
            return STANDARD.decode(body.as_bytes()).map_err(|_| KeyError::Base64);
        }
        body.push_str(line);
    }
    Err(KeyError::NotPem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, KeyPair as _, UnparsedPublicKey};

    fn pem_of(der: &[u8]) -> String {
        let body = STANDARD.encode(der);
        let lines: Vec<&str> =
            body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
    }

    #[test]
    fn an_assertion_verifies_with_the_public_key_and_carries_the_claims() {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pem = Secret::new(pem_of(der.as_ref()));
        let key = SigningKey::from_pem(&pem, SigningAlg::Es256).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let jwt = key.assertion("bot", "https://as.example", now).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let public = key.pair.public_key().as_ref().to_vec();
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(signature.len(), 64, "ES256 signatures are r || s");
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("the signature verifies");
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "ES256", "typ": "JWT"}));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "bot");
        assert_eq!(claims["sub"], "bot");
        assert_eq!(claims["aud"], "https://as.example");
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_000_060);
        // A tampered payload fails.
        let other = key.assertion("bot", "https://as.example", now).unwrap();
        assert_ne!(other.split('.').nth(1), None);
        assert_ne!(jwt, other, "a fresh jti and signature each time");
        let forged = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(b"{\"iss\":\"evil\"}"));
        assert!(
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
                .verify(forged.as_bytes(), &signature)
                .is_err()
        );
    }

    #[test]
    fn keys_that_cannot_sign_are_told_apart_and_never_quoted() {
        let sec1 =
            Secret::new("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----");
        assert_eq!(SigningKey::from_pem(&sec1, SigningAlg::Es256).unwrap_err(), KeyError::Sec1);
        let none = Secret::new("s3cret-not-a-key");
        assert_eq!(SigningKey::from_pem(&none, SigningAlg::Es256).unwrap_err(), KeyError::NotPem);
        let bad = Secret::new("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----");
        assert_eq!(SigningKey::from_pem(&bad, SigningAlg::Es256).unwrap_err(), KeyError::Base64);
        let junk = Secret::new(pem_of(b"not a pkcs8 document"));
        let err = SigningKey::from_pem(&junk, SigningAlg::Es256).unwrap_err();
        assert!(matches!(err, KeyError::Rejected(_)), "{err}");
        let cert = Secret::new("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----");
        assert_eq!(
            SigningKey::from_pem(&cert, SigningAlg::Es256).unwrap_err().to_string(),
            "it is a PEM `CERTIFICATE`, not a PKCS#8 `PRIVATE KEY`"
        );
    }
}
