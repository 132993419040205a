//! Your own middleware in a regkit client: a layer that times every HTTP
//! call and reports slow ones, added with `ClientBuilder::with`.
//!
//! ```sh
//! DIGITALOCEAN_TOKEN=dop_v1_... cargo run -p regkit --features layers --example custom_layer
//! ```
//!
//! Caller layers run outside the retry loop, so each sees one call per
//! operation, and before the auth layer, so they never see credentials.

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use regkit::core::middleware::{Middleware, Next, Result};
use regkit::digitalocean::Client;

/// Logs every call that takes longer than `threshold`.
struct SlowCallLog {
    threshold: Duration,
}

#[async_trait::async_trait]
impl Middleware for SlowCallLog {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        let (method, path) = (request.method().clone(), request.url().path().to_owned());
        let started = Instant::now();
        let result = next.run(request, extensions).await;
        let took = started.elapsed();
        if took > self.threshold {
            let outcome = match &result {
                Ok(response) => response.status().to_string(),
                Err(e) => e.to_string(),
            };
            eprintln!("slow call: {method} {path} took {took:?} ({outcome})");
        }
        result
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let client = Client::builder()
        .from_env()
        .with(SlowCallLog {
            threshold: Duration::from_millis(500),
        })
        .build()?;

    let registry = client.registry_get().send().await?.into_inner();
    let name = registry
        .registry
        .and_then(|r| r.name)
        .ok_or("the account has no registry")?;
    let mut repositories = client
        .registry_list_repositories_v2()
        .registry_name(name.as_str())
        .stream();
    while let Some(repository) = repositories.try_next().await? {
        println!(
            "{}: {} tags",
            repository.name.unwrap_or_default(),
            repository.tag_count.unwrap_or_default()
        );
    }
    Ok(())
}
