//! `lyo serve`: HTTP plus background workers, with graceful shutdown.
//!
//! On SIGTERM or ctrl-c: stop accepting, let in-flight requests finish (bounded by
//! `LYO_SHUTDOWN_GRACE_SECS`), then stop the workers (each finishes its current batch; after
//! the grace period they are abandoned, and an abandoned batch is rolled back and replayed by
//! whoever holds the lease next).

use crate::http::{router, AppState};
use crate::platform::{Migrate, Platform};
use crate::telemetry::metrics_handle;
use anyhow::Context;
use lyo_infrastructure::config::{Provisioned, Settings};
use secrecy::ExposeSecret;
use std::io::{IsTerminal, Write};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let migrate = if settings.migrate_on_start {
        Migrate::Yes
    } else {
        Migrate::No
    };
    // The recorder first, so that the workers' first metrics are kept.
    let metrics = metrics_handle();
    let (platform, provisioned) = Platform::open(settings, migrate).await?;
    announce(&platform.settings, &provisioned);

    // Bind before starting workers: a taken port then fails fast, holding no lease.
    let listener = TcpListener::bind(platform.settings.bind)
        .await
        .with_context(|| format!("binding {}", platform.settings.bind))?;
    let address = listener.local_addr()?;

    let workers = CancellationToken::new();
    let mut tasks = Vec::new();
    for projector in &platform.projectors {
        let runner = platform.runner(projector.clone());
        tasks.push(tokio::spawn(runner.run(workers.child_token())));
    }
    let dispatcher = (platform.settings.outbound.workers > 0).then(|| platform.dispatcher());
    // The inbox workers hand the replies they queue straight to the dispatcher (Postgres).
    let handoff = dispatcher.as_ref().and_then(|d| d.handoff());
    for i in 0..platform.settings.ingress_workers {
        let mut worker = platform.inbox_worker().with_handoff(handoff.clone());
        // The first worker is handed what this process's webhook stores; the others claim
        // from the table.
        if i == 0 {
            worker = worker.with_handed(&platform.inbox);
        }
        tasks.push(tokio::spawn(worker.run(workers.child_token())));
    }
    if let Some(dispatcher) = dispatcher {
        tasks.push(tokio::spawn(dispatcher.run(workers.child_token())));
    }
    if !platform.settings.reminder_interval.is_zero() {
        tasks.push(tokio::spawn(
            platform.reminder_scheduler().run(workers.child_token()),
        ));
    }
    tracing::info!(%address, backend = ?platform.db.backend(), "lyo is listening");

    let app = router(AppState::new(&platform, metrics));
    let stopping = CancellationToken::new();
    tokio::spawn(wait_for_signal(stopping.clone()));
    let grace = platform.settings.shutdown_grace;
    let server =
        axum::serve(listener, app).with_graceful_shutdown(stopping.clone().cancelled_owned());
    tokio::select! {
        result = server => result.context("serving HTTP")?,
        _ = async { stopping.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("in-flight requests did not finish within the grace period");
        }
    }

    tracing::info!("stopping workers");
    workers.cancel();
    let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
    if tokio::time::timeout(grace, futures_join(tasks))
        .await
        .is_err()
    {
        // An abandoned batch is rolled back; its lease expires and another process replays it.
        tracing::warn!("workers did not stop within the grace period; abandoning them");
        aborts.iter().for_each(|a| a.abort());
    }
    if tokio::time::timeout(grace, platform.close()).await.is_err() {
        tracing::warn!("database connections did not close within the grace period");
    }
    tracing::info!("lyo stopped");
    Ok(())
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(error = %error, "a worker panicked");
        }
    }
}

async fn wait_for_signal(stopping: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
    stopping.cancel();
}

/// First start in embedded mode: tell the operator, on the terminal and not in the logs,
/// where the generated secrets are. The admin token is shown once.
fn announce(settings: &Settings, provisioned: &Provisioned) {
    if !settings.is_embedded() {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "lyo: embedded mode, data in {} (SQLite {})",
        settings.data_dir.display(),
        settings.effective_database_url()
    );
    if let Some(path) = &provisioned.generated_master_key {
        let _ = writeln!(err, "lyo: generated the master key into {}", path.display());
    }
    if let Some((path, token)) = &provisioned.generated_admin_token {
        // Shown once, and only to a person at a terminal: stderr may be a log stream.
        if std::io::stderr().is_terminal() {
            let _ = writeln!(
                err,
                "lyo: generated the admin token into {}: {}",
                path.display(),
                token.expose_secret()
            );
        } else {
            let _ = writeln!(
                err,
                "lyo: generated the admin token into {}",
                path.display()
            );
        }
    }
    if let Some(path) = &provisioned.generated_app_secret {
        let _ = writeln!(
            err,
            "lyo: sandbox: replies are recorded, not sent; webhooks are signed with the secret in {} (`lyo chat` uses it)",
            path.display()
        );
    }
}
