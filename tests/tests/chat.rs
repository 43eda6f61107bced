//! `lyo chat` against the embedded default, as a newcomer runs it after README's first command:
//! the demo restaurant, a booking typed in one line, the Confirm button tapped by its number.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use lyo_tests::lyo_binary;
use lyo_tests::process::Server;
use std::io::Write;
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_books_a_table_with_lyo_chat_against_the_embedded_default() {
    let dir = std::env::temp_dir().join(format!("lyo-chat-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(&dir, &[]).await;
    let bind = server.base_url.trim_start_matches("http://").to_string();

    let mut chat = Command::new(lyo_binary())
        .args(["chat", "--as", "393331234567"])
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LYO_BIND", &bind)
        .env("LYO_LOG_FORMAT", "json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = chat.stdin.take().unwrap();
    // One line per exchange; `lyo chat` waits for the replies before reading the next one.
    stdin
        .write_all(
            "Ciao, vorrei prenotare un tavolo per 2 domani alle 20, a nome Rossi\n1\n".as_bytes(),
        )
        .unwrap();
    drop(stdin);
    let output = tokio::task::spawn_blocking(move || chat.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "lyo chat failed: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("20:00") && stdout.contains("Rossi") && stdout.contains("1) ["),
        "the summary with numbered buttons: {stdout}"
    );
    assert!(
        stdout.to_lowercase().contains("confermata"),
        "the booking is confirmed: {stdout}"
    );
    assert!(dir.join("lyo-data/demo.tenant").exists());
    drop(server);
    std::fs::remove_dir_all(dir).unwrap();
}
