//! One-time codes as a second factor: time-based codes (TOTP, RFC 6238) and
//! the recovery codes that stand in for a lost device.
//!
//! - [`Secret`]: 160 random bits (RFC 4226 §4 recommends 160), shown to the
//!   user once as an `otpauth://` URI ([`Secret::otpauth_uri`]), as a QR code
//!   rendered here as SVG ([`qr_svg`]), and as base32 text for typing in.
//! - [`Secret::check`]: a six-digit code at the time step of `now`, one step
//!   before or after (RFC 6238 §5.2 allows "at most one time step" of
//!   delay), returning the step that matched. RFC 6238 §5.2 also says a
//!   verifier "MUST NOT accept the second attempt of the same OTP": the
//!   caller records the step and refuses any step not above the last one
//!   (`KvStore::advance`), since that needs shared state this crate has not.
//! - [`recovery_codes`]: ten single-use codes of 50 random bits each, typed
//!   as `xxxxx-xxxxx`; [`normalize_recovery_code`] reads what a user typed.
//!
//! TOTP itself is `totp-rs` (HMAC-SHA1, 6 digits, 30 s: what every
//! authenticator app reads); QR encoding is `qrcode`.

use rand::RngCore as _;
use totp_rs::{Algorithm, Builder, Totp};

/// Digits in a code.
pub const DIGITS: usize = 6;

/// Seconds in a time step.
pub const STEP_SECONDS: u64 = 30;

/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// Bytes in a secret (160 bits).
pub const SECRET_BYTES: usize = 20;

/// Characters of a recovery code, without its hyphen.
const RECOVERY_CHARS: usize = 10;

/// RFC 4648 base32, lower case (what recovery codes are written in).
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    #[error("a one-time-code secret must be {SECRET_BYTES} bytes")]
    SecretLength,
    #[error("the secret cannot be read as base32")]
    Base32,
    #[error("the issuer or account name cannot go into an otpauth URI: {0}")]
    Uri(String),
    #[error("the otpauth URI does not fit in a QR code")]
    Qr,
}

/// A TOTP shared secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; SECRET_BYTES]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A new random secret (the thread's CSPRNG, seeded by the OS).
    pub fn generate() -> Secret {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Secret(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, OtpError> {
        bytes
            .try_into()
            .map(Secret)
            .map_err(|_| OtpError::SecretLength)
    }

    /// From its base32 text (RFC 4648, upper or lower case, no padding).
    pub fn from_base32(text: &str) -> Result<Secret, OtpError> {
        let secret = totp_rs::Secret::try_from_base32(text.to_ascii_uppercase())
            .map_err(|_| OtpError::Base32)?;
        Secret::from_bytes(secret.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 (RFC 4648, upper case, no padding), for typing the secret in.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::new_stack(self.0).to_base32()
    }

    fn totp(&self, issuer: Option<&str>, account: &str) -> Result<Totp, OtpError> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS as u8)
            .with_skew(1)
            .with_step_duration(STEP_SECONDS)
            .with_secret(totp_rs::Secret::new_stack(self.0))
            .with_issuer(issuer)
            .with_account_name(account)
            .build()
            .map_err(|e| OtpError::Uri(e.to_string()))
    }

    /// The Key URI an authenticator app reads (`otpauth://totp/...`), with
    /// the issuer (a colon is not allowed in it: replaced by a space) and
    /// the account the app lists it under.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Result<String, OtpError> {
        let issuer = issuer.replace(':', " ");
        let account = account.replace(':', " ");
        self.totp(Some(&issuer), &account)?
            .to_url()
            .map_err(|e| OtpError::Uri(e.to_string()))
    }

    /// The code for the time step holding `unix_time` (what the user's app shows).
    pub fn code_at(&self, unix_time: u64) -> String {
        match self.totp(None, "") {
            Ok(totp) => totp.generate(unix_time).to_string(),
            // Fixed, valid parameters: building cannot fail.
            Err(_) => String::new(),
        }
    }

    /// The time step `code` is valid for at `unix_time` (that step, the one
    /// before or the one after), or `None`. Anything that is not six digits
    /// (after dropping spaces) is `None`.
    pub fn check(&self, code: &str, unix_time: u64) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.totp(None, "").ok()?.check(&code, unix_time)
    }
}

/// Whether `input` is shaped like a time-based code (six digits, spaces
/// allowed) rather than a recovery code.
pub fn looks_like_code(input: &str) -> bool {
    let digits: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits.len() == DIGITS && digits.iter().all(u8::is_ascii_digit)
}

/// `uri` as a QR code: an SVG element (no XML declaration), black on white,
/// for inlining in a page.
pub fn qr_svg(uri: &str) -> Result<String, OtpError> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M)
        .map_err(|_| OtpError::Qr)?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// [`RECOVERY_CODES`] new recovery codes, `xxxxx-xxxxx` in lower-case
/// base32 (50 random bits each: far beyond guessing under login throttling,
/// so a keyed hash, not a password hash, is enough to store them).
pub fn recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code = String::with_capacity(RECOVERY_CHARS + 1);
            for i in 0..RECOVERY_CHARS {
                if i == RECOVERY_CHARS / 2 {
                    code.push('-');
                }
                code.push(char::from(BASE32[(rng.next_u32() % 32) as usize]));
            }
            code
        })
        .collect()
}

/// What the user typed as a recovery code, in its canonical form (lower
/// case, one hyphen in the middle), or `None` if it cannot be one. Spaces
/// and hyphens anywhere are ignored.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let chars: Vec<char> = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if chars.len() != RECOVERY_CHARS || !chars.iter().all(|c| BASE32.contains(&(*c as u8))) {
        return None;
    }
    let (head, tail) = chars.split_at(RECOVERY_CHARS / 2);
    Some(format!(
        "{}-{}",
        head.iter().collect::<String>(),
        tail.iter().collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890".
    fn rfc_secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        // Appendix B lists 8-digit values; a 6-digit code is their last six.
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(rfc_secret().code_at(time), eight[2..]);
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_reports_its_step() {
        let s = Secret::generate();
        let now = 1_800_000_000;
        let step = now / STEP_SECONDS;
        assert_eq!(s.check(&s.code_at(now), now), Some(step));
        assert_eq!(s.check(&s.code_at(now - 30), now), Some(step - 1));
        assert_eq!(s.check(&s.code_at(now + 30), now), Some(step + 1));
        let spaced = format!("{} {}", &s.code_at(now)[..3], &s.code_at(now)[3..]);
        assert_eq!(s.check(&spaced, now), Some(step));
        assert_eq!(s.check(&s.code_at(now - 60), now), None);
        assert_eq!(s.check(&s.code_at(now + 60), now), None);
    }

    #[test]
    fn hostile_input_is_no_code() {
        let s = Secret::generate();
        for input in [
            "",
            "12345",
            "1234567",
            "abcdef",
            "١٢٣٤٥٦",
            "12345\u{0}",
            "9999999999",
        ] {
            assert_eq!(s.check(input, 1_800_000_000), None, "{input:?}");
        }
        assert!(!looks_like_code("abcde-fghij"));
        assert!(looks_like_code("123 456"));
    }

    #[test]
    fn a_secret_round_trips_through_base32_and_its_uri_names_issuer_and_account() {
        let s = Secret::generate();
        assert_eq!(Secret::from_base32(&s.to_base32()).unwrap(), s);
        assert_eq!(
            Secret::from_base32(&s.to_base32().to_lowercase()).unwrap(),
            s
        );
        assert!(Secret::from_base32("not base32!").is_err());
        let uri = s.otpauth_uri("Acme: Inkan", "ada@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={}", s.to_base32())), "{uri}");
        assert!(uri.contains("issuer=Acme"), "{uri}");
        assert!(format!("{s:?}").contains("redacted"));
    }

    #[test]
    fn the_qr_code_is_an_svg_element() {
        let svg = qr_svg("otpauth://totp/Inkan:ada?secret=ABC&issuer=Inkan").unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_however_they_are_typed() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(
                normalize_recovery_code(code).as_deref(),
                Some(code.as_str())
            );
            let typed = code.to_uppercase().replace('-', " ");
            assert_eq!(
                normalize_recovery_code(&typed).as_deref(),
                Some(code.as_str())
            );
        }
        for bad in [
            "",
            "abcde-fghi",
            "abcde-fghij1",
            "abcde-fgh1j",
            "ünicode-abc",
        ] {
            assert_eq!(normalize_recovery_code(bad), None, "{bad:?}");
        }
    }
}
