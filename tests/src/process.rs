//! Running the real `lyo` binary.

use crate::{free_port, lyo_binary};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A `lyo serve` child process, killed on drop.
pub struct Server {
    pub child: Child,
    pub base_url: String,
}

impl Server {
    /// Starts `lyo serve` in `dir` with only `env` (plus PATH) in its environment, and waits
    /// until `/health` answers.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join(format!("serve-{port}.log"))).expect("log file");
        let child = Command::new(lyo_binary())
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LYO_BIND", &bind)
            .env("LYO_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn lyo serve");
        let server = Self {
            child,
            base_url: format!("http://{bind}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client
                .get(format!("{}/health", server.base_url))
                .send()
                .await
            {
                if response.status().is_success() {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "lyo serve did not come up; see {}",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        // The shell's builtin kill: /bin/kill (procps) is missing from minimal images.
        let status = Command::new("sh")
            .args(["-c", "kill -TERM \"$0\"", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for lyo") {
                return status;
            }
            assert!(Instant::now() < deadline, "lyo did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `lyo` command to completion; returns (success, stdout).
pub fn lyo(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(lyo_binary())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LYO_LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .output()
        .expect("run lyo");
    if !output.status.success() {
        eprintln!(
            "lyo {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}
