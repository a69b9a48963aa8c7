//! What each identity event mails, in words: the verification and reset
//! links, and the notice after a reset. Plain text (UTF-8), one part.

use inkan_domain::envelope::RecordedEvent;
use inkan_domain::events::identity as stored;
use inkan_domain::identity::{IdentityEvent, LinkPurpose};
use inkan_domain::DomainEvent;
use lettre::message::{header::ContentType, Mailbox};
use lettre::Message;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Opens the token a link event carries sealed (the admin's key-encryption
/// key does it): `None` when it does not open.
pub trait TokenOpener: Send + Sync + 'static {
    fn open(&self, identity: Uuid, sealed: &str) -> Option<Zeroizing<String>>;
}

/// The event types the mailer acts on.
pub const EVENT_TYPES: [&str; 6] = [
    stored::EMAIL_CHANGED_V1,
    stored::EMAIL_VERIFICATION_REQUESTED_V1,
    stored::EMAIL_CHANGE_REQUESTED_V1,
    stored::PASSWORD_RESET_REQUESTED_V1,
    stored::PASSWORD_RESET_OFFERED_V1,
    stored::PASSWORD_RESET_V1,
];

/// How old a notice may be and still be sent (after a long outage, a
/// day-old "your password was changed" still matters; a week-old one is noise).
const NOTICE_MAX_AGE: time::Duration = time::Duration::days(1);

/// What goes into every mail besides the event.
#[derive(Debug, Clone)]
pub struct Letterhead {
    /// The sender, e.g. `Inkan <no-reply@example.com>`.
    pub from: Mailbox,
    /// The issuer URL the links point at (no trailing slash).
    pub issuer: String,
    /// What the mails call the service ("Inkan").
    pub product: String,
    /// The mails' words, in the language each request was made in.
    pub catalogues: std::sync::Arc<inkan_i18n::Catalogues>,
}

/// One mail ready to send; `kind` labels metrics and logs.
#[derive(Debug)]
pub struct Mail {
    pub kind: &'static str,
    pub message: Message,
}

/// What an event asks of the mailer.
#[derive(Debug)]
pub enum Composed {
    Send(Mail),
    /// Nothing to send any more (the link expired, the notice is stale).
    Skip {
        kind: &'static str,
        why: &'static str,
    },
    /// Cannot be sent ever (an unreadable event, a sealed token that does
    /// not open, an address lettre refuses).
    Broken {
        kind: &'static str,
        why: String,
    },
}

/// The mail `event` asks for at `now`, if any.
pub fn compose(
    letterhead: &Letterhead,
    opener: &dyn TokenOpener,
    event: &RecordedEvent,
    now: OffsetDateTime,
) -> Composed {
    let decoded = match IdentityEvent::decode(&event.event_type, &event.payload) {
        Ok(decoded) => decoded,
        Err(e) => {
            return Composed::Broken {
                kind: "unknown",
                why: e.to_string(),
            }
        }
    };
    match decoded {
        IdentityEvent::LinkRequested(e) => {
            // The message ids of the mail: subject, what it is about, what
            // to do if it was not asked for.
            let (kind, path, id) = match (e.link.purpose, e.signup) {
                (LinkPurpose::VerifyEmail, _) => ("verify_email", "/email/verify", "verify"),
                (LinkPurpose::ResetPassword, false) => {
                    ("password_reset", "/password/reset", "reset")
                }
                (LinkPurpose::ResetPassword, true) => {
                    ("account_exists", "/password/reset", "exists")
                }
                (LinkPurpose::ChangeEmail, _) => ("change_email", "/email/change", "change"),
            };
            if e.link.expires_at <= now {
                return Composed::Skip {
                    kind,
                    why: "the link expired before it could be sent",
                };
            }
            let Some(token) = opener.open(event.stream_id, &e.sealed_token) else {
                return Composed::Broken {
                    kind,
                    why: "the sealed token does not open under this key-encryption key".into(),
                };
            };
            let texts = letterhead.catalogues.texts(&e.locale);
            let link = Zeroizing::new(format!("{}{path}?token={}", letterhead.issuer, *token));
            let text = Zeroizing::new(format!(
                "{}\n\n{}\n\n{}\n\n{}\n\n-- \n{}\n",
                texts.get("mail-greeting"),
                texts.get(&format!("mail-{id}-body")),
                *link,
                texts.get(&format!("mail-{id}-ignore")),
                letterhead.product,
            ));
            let subject = texts.get(&format!("mail-{id}-subject"));
            build(letterhead, kind, &e.link.email, &subject, text.to_string())
        }
        IdentityEvent::EmailChanged(e) => {
            let kind = "email_changed";
            if event.metadata.occurred_at + NOTICE_MAX_AGE <= now {
                return Composed::Skip {
                    kind,
                    why: "the notice is more than a day old",
                };
            }
            let texts = letterhead.catalogues.texts(&e.locale);
            let text = format!(
                "{}\n\n{}\n\n{}\n\n-- \n{}\n",
                texts.get("mail-greeting"),
                texts.with("mail-moved-body", &[("email", &e.email)]),
                texts.get("mail-moved-advice"),
                letterhead.product,
            );
            let subject = texts.get("mail-moved-subject");
            build(letterhead, kind, &e.previous, &subject, text)
        }
        IdentityEvent::PasswordReset(e) => {
            let kind = "password_changed";
            if event.metadata.occurred_at + NOTICE_MAX_AGE <= now {
                return Composed::Skip {
                    kind,
                    why: "the notice is more than a day old",
                };
            }
            let texts = letterhead.catalogues.texts(&e.locale);
            let text = format!(
                "{}\n\n{}\n\n{}\n\n-- \n{}\n",
                texts.get("mail-greeting"),
                texts.with("mail-changed-body", &[("email", &e.email)]),
                texts.get("mail-changed-advice"),
                letterhead.product,
            );
            let subject = texts.get("mail-changed-subject");
            build(letterhead, kind, &e.email, &subject, text)
        }
        _ => Composed::Skip {
            kind: "none",
            why: "this event sends no mail",
        },
    }
}

fn build(
    letterhead: &Letterhead,
    kind: &'static str,
    to: &str,
    subject: &str,
    text: String,
) -> Composed {
    let to: Mailbox = match to.parse() {
        Ok(to) => to,
        Err(_) => {
            return Composed::Broken {
                kind,
                why: "the recipient is not an address lettre accepts".into(),
            }
        }
    };
    match Message::builder()
        .from(letterhead.from.clone())
        .to(to)
        .subject(format!("{}: {subject}", letterhead.product))
        .header(ContentType::TEXT_PLAIN)
        .body(text)
    {
        Ok(message) => Composed::Send(Mail { kind, message }),
        Err(e) => Composed::Broken {
            kind,
            why: format!("cannot build the message: {e}"),
        },
    }
}
