//! `jwt_bearer` signing keys, with ring: HMAC, RSASSA-PKCS1-v1_5, ECDSA P-256 and
//! P-384 (fixed-size `r‖s`, as JWS wants) and Ed25519. A key is parsed (and its
//! public half checked) once per process: `validate` and the run share the parse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use ring::{digest, hmac, rand::SystemRandom};

use schemars::JsonSchema;
use serde::Deserialize;

/// The JWS algorithms a `jwt_bearer` step signs with (its `algorithm` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    EdDSA,
}

/// A parsed signing key, ready for its algorithm.
pub enum SigningKey {
    Hmac(hmac::Key),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// The key for `algorithm` from `text` (a shared secret or a PEM private key),
/// or why it cannot be one. Parsed once per (algorithm, key) and process.
pub fn signing_key(algorithm: Algorithm, text: &str) -> Result<Arc<SigningKey>, String> {
    type Parsed = Mutex<HashMap<(Algorithm, [u8; 32]), Arc<SigningKey>>>;
    static PARSED: OnceLock<Parsed> = OnceLock::new();
    let mut id = [0; 32];
    id.copy_from_slice(digest::digest(&digest::SHA256, text.as_bytes()).as_ref());
    let parsed = PARSED.get_or_init(Parsed::default);
    if let Some(key) = parsed.lock().ok().and_then(|m| m.get(&(algorithm, id)).cloned()) {
        return Ok(key);
    }
    let key = Arc::new(parse(algorithm, text)?);
    if let Ok(mut m) = parsed.lock() {
        m.insert((algorithm, id), Arc::clone(&key));
    }
    Ok(key)
}

impl SigningKey {
    /// The signature of `input`.
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        match self {
            SigningKey::Hmac(key) => Ok(hmac::sign(key, input).as_ref().to_vec()),
            SigningKey::Rsa(pair, padding) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(*padding, &rng, input, &mut out).map_err(|_| "RSA signing failed".to_string())?;
                Ok(out)
            }
            SigningKey::Ecdsa(pair) => {
                pair.sign(&rng, input).map(|s| s.as_ref().to_vec()).map_err(|_| "ECDSA signing failed".to_string())
            }
            SigningKey::Ed25519(pair) => Ok(pair.sign(input).as_ref().to_vec()),
        }
    }
}

fn parse(algorithm: Algorithm, text: &str) -> Result<SigningKey, String> {
    use Algorithm::*;
    let is_pem = text.trim_start().starts_with("-----BEGIN");
    if let HS256 | HS384 | HS512 = algorithm {
        if is_pem {
            return Err(format!(
                "{algorithm:?} signs with a shared secret, but `key` is a PEM key: use RS256, ES256 or EdDSA"
            ));
        }
        if text.is_empty() {
            return Err("the HMAC secret is empty".to_string());
        }
        let hash = match algorithm {
            HS384 => hmac::HMAC_SHA384,
            HS512 => hmac::HMAC_SHA512,
            _ => hmac::HMAC_SHA256,
        };
        return Ok(SigningKey::Hmac(hmac::Key::new(hash, text.as_bytes())));
    }
    if !is_pem {
        return Err(format!(
            "{algorithm:?} needs a PEM private key (`-----BEGIN PRIVATE KEY-----` …), not a shared secret"
        ));
    }
    let kind = match algorithm {
        ES256 | ES384 => "an EC",
        EdDSA => "an Ed25519",
        _ => "an RSA",
    };
    let pem = pem::parse(text.trim())
        .map_err(|e| format!("{algorithm:?} needs {kind} private key in PEM (PKCS#8 or traditional): {e}"))?;
    let der = pem.contents();
    let refused = |e: ring::error::KeyRejected| format!("the key does not fit {algorithm:?}: {}", rejected(e));
    let wrong_label = |label: &str| format!("{algorithm:?} needs {kind} private key, not a `{label}` PEM");
    match (algorithm, pem.tag()) {
        (RS256 | RS384 | RS512, "PRIVATE KEY") => RsaKeyPair::from_pkcs8(der),
        (RS256 | RS384 | RS512, "RSA PRIVATE KEY") => RsaKeyPair::from_der(der),
        (RS256 | RS384 | RS512, label) => return Err(wrong_label(label)),
        (ES256 | ES384, label @ ("PRIVATE KEY" | "EC PRIVATE KEY")) => {
            let (alg, curve): (_, &[u8]) = if algorithm == ES256 {
                (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, P256_ALGORITHM_ID)
            } else {
                (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, P384_ALGORITHM_ID)
            };
            let pkcs8 = if label == "EC PRIVATE KEY" { sec1_to_pkcs8(curve, der) } else { der.to_vec() };
            return EcdsaKeyPair::from_pkcs8(alg, &pkcs8, &SystemRandom::new()).map(SigningKey::Ecdsa).map_err(refused);
        }
        (EdDSA, "PRIVATE KEY") => {
            return Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(SigningKey::Ed25519).map_err(refused);
        }
        (_, label) => return Err(wrong_label(label)),
    }
    .map(|pair| {
        let padding: &'static dyn signature::RsaEncoding = match algorithm {
            RS384 => &signature::RSA_PKCS1_SHA384,
            RS512 => &signature::RSA_PKCS1_SHA512,
            _ => &signature::RSA_PKCS1_SHA256,
        };
        SigningKey::Rsa(pair, padding)
    })
    .map_err(|e| format!("{algorithm:?} needs an RSA private key, and this one was refused: {}", rejected(e)))
}

/// ring's reason, in words where a user can act on it.
fn rejected(e: ring::error::KeyRejected) -> String {
    match e.to_string().as_str() {
        "WrongAlgorithm" => "it is a key of another algorithm or curve".into(),
        "TooSmall" | "TooLarge" => "its size is not supported (RSA keys: 2048 to 8192 bits)".into(),
        "PublicKeyIsMissing" => "it carries no public key (write it out again with `openssl pkey`)".into(),
        other => format!("ring refused it ({other})"),
    }
}

/// `AlgorithmIdentifier { id-ecPublicKey, prime256v1 }` (RFC 5480), DER.
const P256_ALGORITHM_ID: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
    0x01, 0x07,
];
/// `AlgorithmIdentifier { id-ecPublicKey, secp384r1 }` (RFC 5480), DER.
const P384_ALGORITHM_ID: &[u8] =
    &[0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// A traditional (SEC1, `EC PRIVATE KEY`) key wrapped as PKCS#8 v1 (RFC 5208):
/// `SEQUENCE { INTEGER 0, algorithm, OCTET STRING { the SEC1 key } }`. ring
/// then checks the curve and that the public key belongs to the private one.
fn sec1_to_pkcs8(algorithm_id: &[u8], sec1: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(algorithm_id);
    der_push(&mut body, 0x04, sec1);
    let mut out = Vec::with_capacity(body.len() + 4);
    der_push(&mut out, 0x30, &body);
    out
}

/// Appends one DER element: tag, definite length, contents.
fn der_push(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(contents);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// Verifies with the public key in the fixture's `.pub.pem` (SPKI).
    fn verifies(alg: &'static dyn signature::VerificationAlgorithm, public: &str, input: &[u8], sig: &[u8]) -> bool {
        let spki = pem::parse(public.trim()).unwrap();
        // The subjectPublicKey BIT STRING is the SPKI's last element: its bytes
        // after the unused-bits octet are the point (EC) or the key (Ed25519, RSA).
        let der = spki.contents();
        let key = public_key_of(der);
        signature::UnparsedPublicKey::new(alg, key).verify(input, sig).is_ok()
    }

    fn public_key_of(spki: &[u8]) -> &[u8] {
        // SEQUENCE { AlgorithmIdentifier, BIT STRING }: skip the outer header and
        // the AlgorithmIdentifier, then the BIT STRING's header and unused-bits byte.
        fn header(d: &[u8]) -> (usize, usize) {
            if d[1] < 0x80 {
                (2, d[1] as usize)
            } else {
                let n = (d[1] & 0x7f) as usize;
                (2 + n, d[2..2 + n].iter().fold(0, |a, b| (a << 8) | *b as usize))
            }
        }
        let (h, _) = header(spki);
        let inner = &spki[h..];
        let (ah, alen) = header(inner);
        let bits = &inner[ah + alen..];
        let (bh, blen) = header(bits);
        &bits[bh + 1..bh + blen]
    }

    #[test]
    fn every_algorithm_signs_what_its_public_key_verifies() {
        let input = b"header.claims";
        for (alg, private, public, verify) in [
            (
                Algorithm::ES256,
                "ec256.pem",
                "ec256.pub.pem",
                &signature::ECDSA_P256_SHA256_FIXED as &dyn signature::VerificationAlgorithm,
            ),
            (Algorithm::ES384, "ec384.pem", "ec384.pub.pem", &signature::ECDSA_P384_SHA384_FIXED),
            (Algorithm::EdDSA, "ed25519.pem", "ed25519.pub.pem", &signature::ED25519),
            (Algorithm::RS256, "rsa.pem", "rsa.pub.pem", &signature::RSA_PKCS1_2048_8192_SHA256),
            (Algorithm::RS384, "rsa.pem", "rsa.pub.pem", &signature::RSA_PKCS1_2048_8192_SHA384),
            (Algorithm::RS512, "rsa.pem", "rsa.pub.pem", &signature::RSA_PKCS1_2048_8192_SHA512),
        ] {
            let sig = signing_key(alg, &fixture(private)).unwrap().sign(input).unwrap();
            assert!(verifies(verify, &fixture(public), input, &sig), "{alg:?}");
            assert!(!verifies(verify, &fixture(public), b"other", &sig), "{alg:?}");
        }
    }

    #[test]
    fn traditional_sec1_and_pkcs1_keys_sign_too() {
        for (alg, private, public, verify) in [
            (
                Algorithm::ES256,
                "ec256.sec1.pem",
                "ec256.pub.pem",
                &signature::ECDSA_P256_SHA256_FIXED as &dyn signature::VerificationAlgorithm,
            ),
            (Algorithm::ES384, "ec384.sec1.pem", "ec384.pub.pem", &signature::ECDSA_P384_SHA384_FIXED),
            (Algorithm::RS256, "rsa.pkcs1.pem", "rsa.pub.pem", &signature::RSA_PKCS1_2048_8192_SHA256),
        ] {
            let text = fixture(private);
            assert!(
                text.contains("-----BEGIN EC PRIVATE KEY-----") || text.contains("-----BEGIN RSA PRIVATE KEY-----")
            );
            let sig = signing_key(alg, &text).unwrap().sign(b"x").unwrap();
            assert!(verifies(verify, &fixture(public), b"x", &sig), "{alg:?}");
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let key = signing_key(Algorithm::HS256, "Jefe").unwrap();
        let mac = key.sign(b"what do ya want for nothing?").unwrap();
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(signing_key(Algorithm::HS384, "Jefe").unwrap().sign(b"x").unwrap().len(), 48);
        assert_eq!(signing_key(Algorithm::HS512, "Jefe").unwrap().sign(b"x").unwrap().len(), 64);
    }

    #[test]
    fn one_parse_per_key_and_algorithm() {
        let text = fixture("ec256.pem");
        let a = signing_key(Algorithm::ES256, &text).unwrap();
        let b = signing_key(Algorithm::ES256, &text).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn wrong_keys_say_why() {
        let err = |alg, text: &str| signing_key(alg, text).err().unwrap();
        assert!(err(Algorithm::ES384, &fixture("ec256.pem")).contains("another algorithm or curve"));
        assert!(err(Algorithm::ES256, &fixture("rsa.pem")).contains("does not fit ES256"));
        assert!(
            err(Algorithm::RS256, &fixture("ec256.pem"))
                .contains("RS256 needs an RSA private key, and this one was refused")
        );
        assert!(err(Algorithm::EdDSA, &fixture("ec256.pem")).contains("does not fit EdDSA"));
        assert!(err(Algorithm::RS256, "secret").contains("not a shared secret"));
        assert!(err(Algorithm::HS256, &fixture("rsa.pem")).contains("signs with a shared secret"));
        assert_eq!(err(Algorithm::HS256, ""), "the HMAC secret is empty");
        assert!(
            err(Algorithm::ES256, "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n")
                .contains("not a `PUBLIC KEY` PEM")
        );
        assert!(
            err(Algorithm::RS256, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
                .contains("RS256 needs an RSA private key, and this one was refused")
        );
    }
}
