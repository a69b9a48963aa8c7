//! `init` with an OTLP endpoint exports spans to the collector, and the
//! guard flushes them when dropped.
//!
//! Its own test binary: it installs the process-wide subscriber. The
//! collector is a tiny HTTP/1.1 server on 127.0.0.1:0 that reports each
//! request it receives; every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use inkan_telemetry::{init, Format};

/// One request the fake collector received.
struct Received {
    request_line: String,
    headers: Vec<String>,
    body: Vec<u8>,
}

/// Starts a fake OTLP/HTTP collector; returns its base URL and the requests it receives.
fn fake_collector() -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    let (tx, rx) = mpsc::channel();
    // The thread ends with the test process; it only ever serves this test's exporter.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || serve(stream, tx));
        }
    });
    (url, rx)
}

/// Answers every request on one connection with `200 OK` and an empty body.
fn serve(stream: TcpStream, tx: mpsc::Sender<Received>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            headers.push(line.to_ascii_lowercase());
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let _ = writer.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        );
        let _ = tx.send(Received {
            request_line: request_line.trim_end().to_owned(),
            headers,
            body,
        });
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn spans_reach_the_otlp_collector_when_the_guard_is_dropped() {
    let (endpoint, requests) = fake_collector();
    let guard = init(Format::Json, "info", Some(&endpoint), "inkan-otlp-test");
    assert!(guard.exports_spans());

    // A second init neither panics nor starts a second exporter.
    let second = init(Format::Pretty, "debug", Some(&endpoint), "ignored");
    assert!(!second.exports_spans());
    drop(second);

    tracing::info_span!("otlp.test.span").in_scope(|| tracing::info!("inside the span"));
    drop(guard);

    let received = requests
        .recv_timeout(Duration::from_secs(10))
        .expect("the collector received the flushed spans within 10 s");
    assert!(
        received.request_line.starts_with("POST /v1/traces "),
        "{}",
        received.request_line
    );
    assert!(
        received
            .headers
            .iter()
            .any(|h| h == "content-type: application/x-protobuf"),
        "{:?}",
        received.headers
    );
    assert!(contains(&received.body, b"inkan-otlp-test"), "service.name");
    assert!(contains(&received.body, b"otlp.test.span"), "span name");
    assert!(
        !contains(&received.body, b"ignored"),
        "the second init's service name is not used"
    );
}
