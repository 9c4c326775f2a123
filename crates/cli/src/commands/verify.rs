//! `verify`: reads every entry and checks its checksum.

use super::Ctx;
use crate::catalog::Catalog;
use crate::error::CliError;
use crate::table::{style, Cell, Table};
use checkpointer::backend::{manifest, Key};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Serialize)]
struct Damaged {
    function: String,
    call: String,
    key: String,
    problem: String,
}

#[derive(Serialize)]
struct VerifyOut {
    /// Entries checked.
    checked: usize,
    /// Metadata objects (manifests, call records) checked besides.
    metadata: usize,
    damaged: Vec<Damaged>,
}

/// `verify [fn]`: exit status 1 when any entry is damaged (each is named), 0 otherwise.
pub fn verify(ctx: &Ctx, function: Option<&str>) -> Result<ExitCode, CliError> {
    let catalog = Catalog::load(&*ctx.storage)?;
    let functions = catalog.only(function)?;
    // Entries, then the metadata kept beside them (named after the function they serve).
    let mut keys: Vec<(String, Key)> = Vec::new();
    for f in &functions {
        keys.extend(f.entries().map(|(_, e)| (f.name(), e.key.clone())));
    }
    let entries = keys.len();
    for f in &functions {
        let dir = f.path.dir();
        for (owner, info) in &catalog.meta {
            if owner.dir() == dir {
                let what = if info.key.call == manifest::MANIFEST_CALL {
                    "manifest"
                } else {
                    "call record"
                };
                keys.push((format!("{} ({what})", f.name()), info.key.clone()));
            }
        }
    }
    let bar = progress(keys.len() as u64);
    let mut damaged = Vec::new();
    for (name, key) in &keys {
        let problem = match checkpointer::backend::block_on(ctx.storage.load(key)) {
            Ok(Some(entry)) => entry.verify().err().map(|e| e.to_string()),
            // Removed since the listing (a concurrent cleanup): nothing to check.
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        };
        if let Some(problem) = problem {
            damaged.push(Damaged {
                function: name.clone(),
                call: key.call.to_hex(),
                key: key.relative_path(),
                problem,
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let out = VerifyOut {
        checked: entries,
        metadata: keys.len() - entries,
        damaged,
    };
    if ctx.json {
        ctx.print_json(&out)?;
    } else if out.damaged.is_empty() {
        ctx.say(&format!(
            "{}verified {} entries and {} metadata objects: all sound{}",
            style::GOOD.render(),
            out.checked,
            out.metadata,
            style::GOOD.render_reset()
        ))?;
    } else {
        let mut t = Table::new(&["DAMAGED ENTRY", "CALL", "PROBLEM", "KEY"]);
        for d in &out.damaged {
            t.row(vec![
                Cell::new(&*d.function).styled(style::BAD),
                Cell::new(&d.call[..16]),
                Cell::new(&*d.problem),
                Cell::new(&*d.key).styled(style::DIM),
            ]);
        }
        t.print(&mut ctx.out())?;
        ctx.say(&format!(
            "{} damaged, of {} entries and {} metadata objects (a call recomputes and overwrites a damaged entry)",
            out.damaged.len(),
            out.checked,
            out.metadata
        ))?;
    }
    if !out.damaged.is_empty() {
        for d in &out.damaged {
            eprintln!(
                "checkpointer: damaged entry: {} [{}]: {}",
                d.function,
                &d.call[..16],
                d.problem
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr, only when stderr is a terminal.
fn progress(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("verifying {bar:40} {pos}/{len} {eta}") {
        bar.set_style(style);
    }
    bar
}
