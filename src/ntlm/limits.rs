//! What fits in an NTLM message. Every field of one has a 16-bit length, and
//! ntlmclient panics ("buffer too long for u16 length") on a longer one, so
//! the handshake checks each value here before the library sees it.

use crate::http::message::NtlmAuth;

/// The most bytes one field of an NTLM message holds (a 16-bit length).
pub const MAX_FIELD_BYTES: usize = u16::MAX as usize;

/// The NTLMv2 response around the server's target information: 16 bytes of
/// proof, the 28-byte blob header and 4 closing zero bytes (MS-NLMP 2.2.2.7).
const NT_RESPONSE_OVERHEAD: usize = 16 + 28 + 4;

/// The most target-information bytes a challenge may carry for the answer to fit.
pub const MAX_TARGET_INFO_BYTES: usize = MAX_FIELD_BYTES - NT_RESPONSE_OVERHEAD;

/// Checks the user name, domain and workstation: each travels as UTF-16.
pub fn check_credentials(auth: &NtlmAuth) -> Result<(), String> {
    for (what, value) in [("user name", &auth.username), ("domain", &auth.domain), ("workstation", &auth.workstation)] {
        let bytes = value.encode_utf16().count() * 2;
        if bytes > MAX_FIELD_BYTES || value.len() > MAX_FIELD_BYTES {
            return Err(format!(
                "the NTLM {what} is {} characters long; an NTLM message carries at most {} (UTF-16)",
                value.chars().count(),
                MAX_FIELD_BYTES / 2
            ));
        }
    }
    Ok(())
}

/// Checks the target information of the server's challenge, which the answer repeats.
pub fn check_target_info(len: usize) -> Result<(), String> {
    if len > MAX_TARGET_INFO_BYTES {
        return Err(format!(
            "the server's NTLM challenge carries {len} bytes of target information; \
             an NTLMv2 answer can repeat at most {MAX_TARGET_INFO_BYTES}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_u16_fields() {
        assert_eq!(MAX_TARGET_INFO_BYTES, 65_487);
        let auth = |name: &str| NtlmAuth {
            username: name.to_string(),
            password: crate::secret::Secret::unlearned("pw"),
            domain: String::new(),
            workstation: String::new(),
        };
        assert!(check_credentials(&auth(&"u".repeat(32_767))).is_ok());
        assert!(check_credentials(&auth(&"u".repeat(32_768))).unwrap_err().contains("32768 characters"));
        assert!(check_target_info(65_487).is_ok() && check_target_info(65_488).is_err());
    }
}
