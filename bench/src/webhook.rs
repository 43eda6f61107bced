//! The library of `lyo-bench`: what its benchmarks share. Refusing non-loopback targets,
//! posting one signed delivery as Meta would, and percentiles of sorted latencies.

use anyhow::bail;
use lyo_infrastructure::whatsapp::{sign, SimulatedDelivery};

/// The allocator `lyo serve` runs with, for every benchmark binary (they link this library): the
/// event-store benchmark measures the server's code in process, and the load generators share
/// the server's two cores, so their allocator's cost is the server's loss.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Fails unless `url` names this machine: load goes to loopback only.
pub fn require_loopback(url: &str) -> anyhow::Result<()> {
    let host = reqwest::Url::parse(url)?;
    if !matches!(
        host.host_str(),
        Some("127.0.0.1" | "::1" | "[::1]" | "localhost")
    ) {
        bail!("the benchmark only sends to loopback");
    }
    Ok(())
}

/// Posts `delivery` to `{url}/webhooks/whatsapp`, signed with `secret`; fails unless 200.
pub async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    delivery: SimulatedDelivery,
) -> anyhow::Result<()> {
    let response = client
        .post(format!("{url}/webhooks/whatsapp"))
        .header(
            "x-hub-signature-256",
            sign(secret.as_bytes(), &delivery.body),
        )
        .body(delivery.body)
        .send()
        .await?;
    if response.status() != 200 {
        bail!("webhook answered {}", response.status());
    }
    Ok(())
}

/// The `p`th percentile (nearest rank) of `sorted`; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
