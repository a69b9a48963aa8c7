//! A real SMTP server on loopback that keeps what it receives: aiosmtpd
//! (PyPI, installed by `.ci/run`) with its Maildir handler, so every mail
//! Inkan's mailer hands over lands as a file the tests parse with
//! `mailparse`, transfer encodings and all.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One received mail, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    /// The text body, transfer encoding undone.
    pub body: String,
}

impl Mail {
    /// The first URL in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        self.body
            .split_whitespace()
            .find(|w| w.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} link in the mail: {}", self.body))
            .to_string()
    }
}

/// A running aiosmtpd; stopped when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Whether aiosmtpd can run here; CI (`CI` set) requires it.
    pub fn available() -> bool {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs aiosmtpd (.ci/run installs it with pip)"
            );
            eprintln!("skipping the mail test: `pip install aiosmtpd` (as .ci/run does)");
        }
        ok
    }

    /// Starts a server on a free port.
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(crate::browser::free_port())
    }

    /// Starts a server on `port` (one reserved earlier) and waits until it
    /// accepts connections (at most 20 s).
    pub fn start_on(port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start aiosmtpd");
        let sink = SmtpSink {
            child,
            port,
            maildir,
            _dir: dir,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not listen on {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sink
    }

    /// The `INKAN_SMTP_URL` of this server (plain SMTP: it is on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| {
                let at = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (at, e.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| parse(&std::fs::read(&path).unwrap()))
            .collect()
    }

    /// The mails to `to` whose subject contains `subject`.
    pub fn mails_to(&self, to: &str, subject: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.contains(to) && m.subject.contains(subject))
            .collect()
    }

    /// Waits (at most `within`) until `count` mails to `to` with `subject` arrived.
    pub async fn wait_for_n(
        &self,
        to: &str,
        subject: &str,
        count: usize,
        within: Duration,
    ) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let found = self.mails_to(to, subject);
            if found.len() >= count {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{count} mail(s) to {to} about {subject:?} within {within:?}; got {:?}",
                self.mails()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The first mail to `to` with `subject` (waits at most 30 s).
    pub async fn wait_for(&self, to: &str, subject: &str) -> Mail {
        self.wait_for_n(to, subject, 1, Duration::from_secs(30))
            .await
            .remove(0)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(raw: &[u8]) -> Mail {
    let parsed = mailparse::parse_mail(raw).expect("a mail aiosmtpd stored");
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.get_key().eq_ignore_ascii_case(name))
            .map(|h| h.get_value())
            .unwrap_or_default()
    };
    Mail {
        to: header("To"),
        from: header("From"),
        subject: header("Subject"),
        body: parsed.get_body().expect("a text body"),
    }
}
