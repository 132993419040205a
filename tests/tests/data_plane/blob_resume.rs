//! regkit-oci's blob reads against a hostile registry on a raw socket:
//! a body that breaks off is read on from the byte it reached, whatever
//! the registry answers the `Range` request with; an answer that starts
//! elsewhere, or a body that never arrives whole, is an error, never
//! wrong bytes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use regkit_core::RetryPolicy;
use regkit_tests::registry::sha256;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// How the registry answers the request after a break.
#[derive(Clone, Copy, Debug)]
enum Resume {
    /// `206` from the byte asked for.
    Honours,
    /// `200` and the whole blob again.
    Ignores,
    /// `206` from byte 0.
    StartsElsewhere,
    /// Breaks off halfway again, every time.
    BreaksAgain,
}

const SIZE: usize = 96 * 1024;

fn body() -> Vec<u8> {
    (0..SIZE).map(|i| (i * 31 % 251) as u8).collect()
}

/// A registry whose first answer to a blob `GET` promises the whole blob
/// and breaks off halfway; it records each request's `Range`.
async fn registry(resume: Resume) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let ranges: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen = ranges.clone();
    tokio::spawn(async move {
        let blob = body();
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if conn.read(&mut byte).await.unwrap_or(0) == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let range = head
                .lines()
                .find_map(|l| l.strip_prefix("range:"))
                .map(|v| v.trim().to_string());
            let first = {
                let mut seen = seen.lock().unwrap();
                seen.push(range.clone());
                seen.len() == 1
            };
            let from: usize = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
                .unwrap_or(0);
            let len = SIZE;
            let (status, start, extra) = match (first, resume) {
                (true, _) | (false, Resume::BreaksAgain) | (false, Resume::Ignores) => {
                    ("200 OK", 0, String::new())
                }
                (false, Resume::Honours) => (
                    "206 Partial Content",
                    from,
                    format!("content-range: bytes {from}-{}/{len}\r\n", len - 1),
                ),
                (false, Resume::StartsElsewhere) => (
                    "206 Partial Content",
                    0,
                    format!("content-range: bytes 0-{}/{len}\r\n", len - 1),
                ),
            };
            let part = &blob[start..];
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/octet-stream\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
                part.len()
            );
            let breaks = first || matches!(resume, Resume::BreaksAgain);
            let sent = if breaks {
                &part[..part.len() / 2]
            } else {
                part
            };
            let _ = conn.write_all(reply.as_bytes()).await;
            let _ = conn.write_all(sent).await;
            let _ = conn.flush().await;
            // Dropped: a close short of Content-Length is a broken body.
        }
    });
    (host, ranges)
}

async fn read(resume: Resume) -> (Result<Vec<u8>, regkit_oci::Error>, Vec<Option<String>>) {
    let (host, ranges) = registry(resume).await;
    let client = regkit_oci::Client::builder(host)
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let digest = sha256(&body());
    let mut got = Vec::new();
    let outcome = match client.blob("app", &digest).await {
        Ok(mut blob) => loop {
            match blob.stream.next().await {
                Some(Ok(chunk)) => got.extend_from_slice(&chunk),
                Some(Err(e)) => break Err(e),
                None => break Ok(got),
            }
        },
        Err(e) => Err(e),
    };
    let ranges = ranges.lock().unwrap().clone();
    (outcome, ranges)
}

#[tokio::test]
async fn a_registry_that_honours_range_sends_the_rest() {
    let (got, ranges) = read(Resume::Honours).await;
    assert_eq!(got.unwrap(), body());
    assert_eq!(
        ranges,
        [None, Some(format!("bytes={}-", SIZE / 2))],
        "read on from the byte the break left off at"
    );
}

#[tokio::test]
async fn a_registry_that_ignores_range_has_the_part_already_received_skipped() {
    let (got, ranges) = read(Resume::Ignores).await;
    assert_eq!(got.unwrap(), body(), "no byte twice");
    assert_eq!(ranges.len(), 2);
}

#[tokio::test]
async fn a_range_answer_that_starts_elsewhere_is_an_error() {
    let (got, ranges) = read(Resume::StartsElsewhere).await;
    let e = got.expect_err("bytes from the wrong offset must not be spliced in");
    assert!(
        matches!(e, regkit_oci::Error::Invalid(_)) && e.to_string().contains("bytes 0-"),
        "{e}"
    );
    assert_eq!(ranges.len(), 2, "and not asked again");
}

#[tokio::test]
async fn a_body_that_never_arrives_whole_fails_after_the_retry_budget() {
    let (got, ranges) = read(Resume::BreaksAgain).await;
    let e = got.expect_err("a blob that never arrives whole");
    assert!(!e.to_string().is_empty());
    assert_eq!(ranges.len(), 3, "the policy's attempts, then the error");
}
