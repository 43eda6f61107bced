//! The `lyo` command line itself. (Having an integration test here also makes `cargo test`

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.
//! build the `lyo` binary that the black-box tests in `tests/` run.)

use std::process::Command;

fn lyo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lyo"))
        .args(args)
        .env_clear()
        .output()
        .expect("run lyo")
}

#[test]
fn help_lists_the_documented_commands() {
    let output = lyo(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "migrate", "projections"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[test]
fn an_unsupported_database_url_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_lyo"))
        .arg("migrate")
        .env_clear()
        .env("DATABASE_URL", "mysql://localhost/lyo")
        .env(
            "LYO_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .output()
        .expect("run lyo");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("postgres:// or sqlite:"), "{stderr}");
}

#[test]
fn a_malformed_setting_names_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_lyo"))
        .arg("migrate")
        .env_clear()
        .env("LYO_PROJECTOR_BATCH_SIZE", "many")
        .output()
        .expect("run lyo");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("LYO_PROJECTOR_BATCH_SIZE"));
}

#[test]
fn understand_prints_one_json_object_with_the_documented_fields() {
    let output = lyo(&[
        "understand",
        "--now",
        "2026-11-22T10:00:00Z",
        "--tz",
        "Europe/Rome",
        "ciao vorrei un tavolo x 4 domani alle 8",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "exactly one line: {stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["language"], "it");
    assert_eq!(json["intent"], "book");
    assert_eq!(json["party_size"], 4);
    assert_eq!(json["date"], "2026-11-23");
    assert_eq!(json["time"], "20:00", "a bare 8 is dinner time by default");
    for field in ["period", "name", "notes", "confidence"] {
        assert!(json.get(field).is_some(), "{field} missing");
    }
}

#[test]
fn understand_uses_the_given_service_periods_and_rejects_bad_options() {
    let output = lyo(&[
        "understand",
        "--now",
        "2026-11-22T10:00:00Z",
        "--tz",
        "Europe/Rome",
        "--period",
        "lunch=12:00-15:00",
        "table for two tomorrow for lunch",
    ]);
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["period"]["name"], "lunch");
    assert_eq!(json["party_size"], 2);

    let bad_zone = lyo(&["understand", "--tz", "Mars/Olympus", "ciao"]);
    assert!(!bad_zone.status.success());
    assert!(String::from_utf8_lossy(&bad_zone.stderr).contains("--tz"));
    let bad_now = lyo(&["understand", "--now", "yesterday", "ciao"]);
    assert!(!bad_now.status.success());
}
