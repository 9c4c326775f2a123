//! `checkpointer`: see what a checkpointer cache holds, check it, clean it, and explain it.
//!
//! Reads the same configuration as the library (`CHECKPOINTER_STORAGE`, `CHECKPOINTER_DIR`,
//! `checkpointer.toml`), overridden by `--storage` and `--dir`. Every subcommand prints an
//! aligned table, or JSON with `--json`. Exit status: 0 success, 1 `verify` found damaged
//! entries, 2 any error (printed as one line on stderr).

mod args;
mod catalog;
mod commands;
mod error;
mod human;
mod store;
mod table;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("checkpointer: error: {e}");
            ExitCode::from(2)
        }
    }
}
