//! Scraping the server's Prometheus `/metrics`.

/// Sum of the samples of a Prometheus metric (`name` or `name{...}`) on `/metrics`; 0 if absent.
pub(crate) async fn scrape(client: &reqwest::Client, url: &str, name: &str) -> anyhow::Result<f64> {
    let text = client
        .get(format!("{}/metrics", url.trim_end_matches('/')))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// Mean inbox batch (deliveries per commit) between two scrapes of sum and count.
pub(crate) async fn batch_stats(client: &reqwest::Client, url: &str) -> (f64, f64) {
    let sum = scrape(client, url, "lyo_inbox_batch_size_sum").await;
    let count = scrape(client, url, "lyo_inbox_batch_size_count").await;
    (sum.unwrap_or(f64::NAN), count.unwrap_or(f64::NAN))
}
