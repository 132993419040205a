//! The emulator tests' fixtures: an emulator whose clock stands still, and
//! requests no generated client would send (bad bodies, foreign or missing
//! credentials), made to it with a bare reqwest client.

use regkit_emulator::{ClockMode, Emulator, Provider};
use serde_json::Value;

/// An emulator with no content whose clock stands still until a test
/// moves it, so every timestamp is reproducible.
pub async fn frozen() -> Emulator {
    Emulator::builder()
        .clock(ClockMode::Frozen)
        .start()
        .await
        .expect("the emulator starts")
}

/// Sends `method path` to `provider`'s API on `emu` with this
/// `Authorization` (none when `None`) and body (content type and bytes),
/// and returns the status and the answer as JSON (a JSON string when the
/// answer is not JSON).
pub async fn raw(
    emu: &Emulator,
    provider: Provider,
    method: reqwest::Method,
    path: &str,
    auth: Option<String>,
    body: Option<(&str, Vec<u8>)>,
) -> (u16, Value) {
    // Building a regkit client installs the process's rustls provider,
    // which a bare reqwest client needs.
    drop(emu.digitalocean());
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", emu.url(provider)));
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    if let Some((content_type, body)) = body {
        req = req.header("content-type", content_type).body(body);
    }
    let resp = req.send().await.expect("the emulator answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A JSON request body for [`raw`].
pub fn json_body(value: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some((
        "application/json",
        serde_json::to_vec(value).expect("a JSON value encodes"),
    ))
}
