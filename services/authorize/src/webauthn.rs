//! Passkeys (WebAuthn Level 3) through `webauthn-rs`: the relying party
//! built from the issuer, and the conversions between the library's types
//! and what the directory stores.
//!
//! RP ID = the issuer's host, origin = the issuer's origin (WebAuthn §5.1.4.1
//! step 8: the RP ID must be a registrable suffix of the origin's effective
//! domain; browsers refuse IP addresses, so an issuer on `127.0.0.1` has no
//! passkeys and says so at start-up). Every ceremony requires user
//! verification; registration requires a discoverable ("resident")
//! credential, so a passkey alone identifies the user (usernameless login).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use inkan_directory::StoredPasskey;
use url::Url;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableKey, Passkey, Webauthn, WebauthnBuilder,
};

/// Why the issuer cannot be a WebAuthn relying party.
#[derive(Debug, thiserror::Error)]
pub enum RelyingPartyError {
    #[error("the issuer has no host name")]
    NoHost,
    /// WebAuthn refuses IP addresses as RP IDs (§5.1.4.1; browsers enforce it).
    #[error("the issuer's host is an IP address; WebAuthn needs a domain name (localhost works for development)")]
    IpAddress,
    #[error("the WebAuthn library refused the issuer: {0}")]
    Refused(#[source] webauthn_rs::prelude::WebauthnError),
}

/// The relying party for `issuer`, shown to users as `name`.
pub fn relying_party(issuer: &str, name: &str) -> Result<Webauthn, RelyingPartyError> {
    let origin = Url::parse(issuer).map_err(|_| RelyingPartyError::NoHost)?;
    let host = match origin.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(_) => return Err(RelyingPartyError::IpAddress),
        None => return Err(RelyingPartyError::NoHost),
    };
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name(name).build())
        .map_err(RelyingPartyError::Refused)
}

/// Creation options that ask for a discoverable credential (WebAuthn §5.4.6
/// `residentKey: "required"`). `webauthn-rs`' passkey registration leaves
/// residency to the authenticator; a usernameless login needs it, so the
/// options the browser sees require it (the server-side state does not
/// depend on it).
pub fn require_discoverable(
    options: &CreationChallengeResponse,
) -> Result<serde_json::Value, serde_json::Error> {
    let mut json = serde_json::to_value(options)?;
    let public_key = &mut json["publicKey"];
    if !public_key["authenticatorSelection"].is_object() {
        public_key["authenticatorSelection"] = serde_json::json!({});
    }
    let selection = &mut public_key["authenticatorSelection"];
    selection["residentKey"] = "required".into();
    selection["requireResidentKey"] = true.into();
    Ok(json)
}

/// A stored passkey as the library's credential, if its record is readable.
pub fn passkey(stored: &StoredPasskey) -> Option<Passkey> {
    serde_json::from_str(&stored.credential_json).ok()
}

/// The credential id as the directory stores it: base64url without padding.
pub fn credential_id(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// The discoverable key behind `credential_id` among an identity's passkeys.
pub fn discoverable_key(passkeys: &[StoredPasskey], raw_id: &[u8]) -> Option<DiscoverableKey> {
    let id = credential_id(raw_id);
    passkeys
        .iter()
        .find(|p| p.credential_id == id)
        .and_then(passkey)
        .map(|p| DiscoverableKey::from(&p))
}

/// Whether a passkey the library just registered may be synced (its
/// backup-eligible flag), read from its serialised record.
pub fn backup_eligible(passkey: &Passkey) -> bool {
    serde_json::to_value(passkey)
        .ok()
        .and_then(|v| v["cred"]["backup_eligible"].as_bool())
        .unwrap_or(false)
}

/// RFC 8176 `amr` values of a passkey login: a key held in a device's
/// hardware (`hwk`) or one that may be synced (`swk`, WebAuthn's
/// backup-eligible flag), user verification (`user`), and `mfa`: the
/// authenticator verified the user (PIN or biometric) on top of the
/// possession of the key, two factors in one gesture (NIST SP 800-63B-4
/// §3.1.7, multi-factor cryptographic authenticators).
pub fn amr(backup_eligible: bool) -> Vec<String> {
    let key = if backup_eligible { "swk" } else { "hwk" };
    vec![key.to_owned(), "user".to_owned(), "mfa".to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_issuer_is_a_relying_party_an_ip_address_is_not() {
        let rp = relying_party("https://id.example.com", "Inkan").unwrap();
        let (options, _) = rp.start_discoverable_authentication().unwrap();
        let json = serde_json::to_value(&options).unwrap();
        assert_eq!(json["publicKey"]["rpId"], "id.example.com");
        assert_eq!(json["publicKey"]["userVerification"], "required");
        assert!(relying_party("http://localhost:8080", "Inkan").is_ok());
        assert!(matches!(
            relying_party("http://127.0.0.1:8080", "Inkan"),
            Err(RelyingPartyError::IpAddress)
        ));
        assert!(matches!(
            relying_party("http://[::1]:8080", "Inkan"),
            Err(RelyingPartyError::IpAddress)
        ));
    }

    #[test]
    fn registration_options_require_a_discoverable_credential_and_user_verification() {
        let rp = relying_party("https://id.example.com", "Inkan").unwrap();
        let (options, _) = rp
            .start_passkey_registration(uuid::Uuid::nil(), "ada@example.com", "Ada", None)
            .unwrap();
        let json = require_discoverable(&options).unwrap();
        let selection = &json["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(json["publicKey"]["rp"]["id"], "id.example.com");
    }

    #[test]
    fn passkey_amr_names_the_kind_of_key() {
        assert_eq!(amr(true), ["swk", "user", "mfa"]);
        assert_eq!(amr(false), ["hwk", "user", "mfa"]);
        assert_eq!(credential_id(&[1, 2, 3, 250]), "AQID-g");
    }
}
