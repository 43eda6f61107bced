//! The composition root of Lyo: the only crate that names concrete adapters. It wires the
//! chosen backend into the application, serves HTTP (axum) and runs the `lyo` command (clap).

pub mod cli;
pub mod http;
pub mod platform;
pub mod serve;
pub mod telemetry;
