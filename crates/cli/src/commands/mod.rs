//! The subcommands. Each renders a table, or JSON with `--json`.

mod graph;
mod ls;
mod maintain;
mod show;
mod verify;
mod why;

use crate::args::{Cli, Command};
use crate::error::CliError;
use checkpointer::Storage;
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

/// What every subcommand works with.
pub struct Ctx {
    /// The store.
    pub storage: Arc<dyn Storage>,
    /// What the store is, for messages.
    pub what: String,
    /// `--json`.
    pub json: bool,
}

impl Ctx {
    /// Stdout, dropping colour when it is not a terminal or `NO_COLOR` is set.
    pub fn out(&self) -> anstream::AutoStream<std::io::Stdout> {
        anstream::stdout()
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json(&self, value: &impl Serialize) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, value)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        writeln!(out)?;
        Ok(())
    }

    /// One line of prose (human output only).
    pub fn say(&self, line: &str) -> Result<(), CliError> {
        writeln!(self.out(), "{line}")?;
        Ok(())
    }
}

/// Runs the command line; `Ok` carries the exit status.
pub fn run(cli: &Cli) -> Result<ExitCode, CliError> {
    let (storage, what) = crate::store::open(&cli.global)?;
    let ctx = Ctx {
        storage,
        what,
        json: cli.global.json,
    };
    match &cli.command {
        Command::Ls { function } => ls::ls(&ctx, function.as_deref()),
        Command::Stats => ls::stats(&ctx),
        Command::Show { function, call } => show::show(&ctx, function, call.as_deref()),
        Command::Verify { function } => return verify::verify(&ctx, function.as_deref()),
        Command::Cleanup {
            expired_after,
            dry_run,
        } => maintain::cleanup(&ctx, *expired_after, *dry_run),
        Command::Prune {
            older_than,
            max_size,
            dry_run,
            function,
        } => maintain::prune(
            &ctx,
            *older_than,
            max_size.map(|s| s.as_u64()),
            *dry_run,
            function.as_deref(),
        ),
        Command::Rm { function } => maintain::rm(&ctx, function),
        Command::Graph { function } => graph::graph(&ctx, function.as_deref()),
        Command::Why { function, old, new } => {
            why::why(&ctx, function, old.as_deref(), new.as_deref())
        }
    }?;
    Ok(ExitCode::SUCCESS)
}
