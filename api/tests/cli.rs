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
