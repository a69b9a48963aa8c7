//! Sending over SMTP with lettre: one pooled connection set per process,
//! TLS by rustls, and every failure sorted into "try again" or "never".

use std::time::Duration;

use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};

/// Upper bound for one send (connect, TLS, auth, the whole transaction).
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a mail was not accepted by the server.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth another try later (a 4xx answer, a timeout, no connection).
    #[error("transient SMTP failure: {0}")]
    Transient(String),
    /// The server refused for good (a 5xx answer: bad recipient, policy).
    #[error("permanent SMTP failure: {0}")]
    Permanent(String),
}

/// A configuration the transport refuses.
#[derive(Debug, thiserror::Error)]
#[error("INKAN_SMTP_URL: {0}")]
pub struct ConfigError(String);

/// The SMTP relay mail goes through.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the relay's password: never printed.
        f.debug_struct("Smtp").finish_non_exhaustive()
    }
}

impl Smtp {
    /// From a lettre connection URL: `smtp://host:port` (plain, for a relay
    /// on loopback), `smtp://user:pass@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:pass@host:465` (implicit TLS). The error never repeats
    /// the URL (it may hold a password). Call it inside the tokio runtime
    /// (the connection pool starts a task).
    pub fn from_url(url: &str) -> Result<Smtp, ConfigError> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
            ConfigError(format!(
                "not a usable SMTP URL ({}): use smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://user:pass@host:465",
                kind_of(&e)
            ))
        })?;
        Ok(Smtp {
            transport: builder.timeout(Some(SEND_TIMEOUT)).build(),
        })
    }

    /// Hands one message to the relay; `Ok` once the relay accepted it.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(kind_of(&e))),
            Ok(Err(e)) => Err(SendError::Transient(kind_of(&e))),
            Err(_) => Err(SendError::Transient(format!(
                "no answer within {SEND_TIMEOUT:?}"
            ))),
        }
    }
}

/// A description of a lettre error without its source chain's details
/// beyond the server's answer (no credentials, no message content).
fn kind_of(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    text.truncate(300);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pool spawns its reaper on the runtime: built inside one.
    #[tokio::test]
    async fn urls_are_checked_and_never_repeated_in_errors() {
        assert!(Smtp::from_url("smtp://127.0.0.1:2525").is_ok());
        assert!(Smtp::from_url("smtps://user:pw@mail.example.com").is_ok());
        assert!(Smtp::from_url("smtp://user:pw@mail.example.com:587?tls=required").is_ok());
        let e = Smtp::from_url("imap://user:hunter2@mail.example.com").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(Smtp::from_url("not a url").is_err());
    }
}
