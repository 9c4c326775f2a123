//! `ls` and `stats`.

use super::Ctx;
use crate::catalog::Catalog;
use crate::error::CliError;
use crate::human;
use crate::table::{style, Cell, Table};
use checkpointer::backend::Scope;
use checkpointer::maintenance::{self, Tally};
use serde::Serialize;
use std::time::SystemTime;

#[derive(Serialize)]
struct LsFunction {
    function: String,
    versions: Vec<LsVersion>,
}

#[derive(Serialize)]
struct LsVersion {
    identity: String,
    current: bool,
    entries: usize,
    bytes: u64,
    newest: Option<String>,
    last_use: Option<String>,
}

/// `ls`: one row per identity version.
pub fn ls(ctx: &Ctx, function: Option<&str>) -> Result<(), CliError> {
    let catalog = Catalog::load(&*ctx.storage)?;
    let functions = catalog.only(function)?;
    if ctx.json {
        let out: Vec<LsFunction> = functions
            .iter()
            .map(|f| LsFunction {
                function: f.name(),
                versions: f
                    .versions
                    .iter()
                    .map(|v| LsVersion {
                        identity: v.identity.to_hex(),
                        current: v.current,
                        entries: v.entries.len(),
                        bytes: v.bytes(),
                        newest: human::time(v.newest()),
                        last_use: human::time(v.last_use()),
                    })
                    .collect(),
            })
            .collect();
        return ctx.print_json(&out);
    }
    if functions.is_empty() {
        return ctx.say(&format!("no cached functions in the {}", ctx.what));
    }
    let now = SystemTime::now();
    let mut t = Table::new(&[
        "FUNCTION", "VERSION", "STATE", ">ENTRIES", ">SIZE", "NEWEST", "LAST USE",
    ]);
    for f in functions {
        for (i, v) in f.versions.iter().enumerate() {
            let name = if i == 0 { f.name() } else { String::new() };
            let state = if v.current {
                Cell::new("current").styled(style::GOOD)
            } else {
                Cell::new("invalidated").styled(style::STALE)
            };
            t.row(vec![
                Cell::new(name).styled(style::NAME),
                Cell::new(v.identity.short(12)).styled(style::DIM),
                state,
                Cell::num(v.entries.len().to_string()),
                Cell::num(human::size(v.bytes())),
                Cell::new(human::age(v.newest(), now)),
                Cell::new(human::age(v.last_use(), now)),
            ]);
        }
    }
    t.print(&mut ctx.out())?;
    Ok(())
}

#[derive(Serialize)]
struct StatsOut {
    total: TallyOut,
    current: TallyOut,
    invalidated: TallyOut,
    functions: Vec<FnStatsOut>,
}

#[derive(Serialize)]
struct FnStatsOut {
    function: String,
    versions: usize,
    entries: u64,
    bytes: u64,
    current: TallyOut,
    invalidated: TallyOut,
}

#[derive(Serialize, Default, Clone, Copy)]
struct TallyOut {
    entries: u64,
    bytes: u64,
}

impl From<Tally> for TallyOut {
    fn from(t: Tally) -> Self {
        TallyOut {
            entries: t.entries,
            bytes: t.bytes,
        }
    }
}

/// `stats`: totals and per function, from the core's `store_stats`.
pub fn stats(ctx: &Ctx) -> Result<(), CliError> {
    let stats =
        checkpointer::backend::block_on(maintenance::store_stats(&*ctx.storage, &Scope::All))?;
    let mut out = StatsOut {
        total: stats.total.into(),
        current: TallyOut::default(),
        invalidated: TallyOut::default(),
        functions: Vec::new(),
    };
    let mut by_name: Vec<_> = stats.functions.iter().collect();
    by_name.sort_by_key(|(p, _)| p.to_string());
    for (path, f) in by_name {
        out.current.entries += f.current.entries;
        out.current.bytes += f.current.bytes;
        out.invalidated.entries += f.invalidated.entries;
        out.invalidated.bytes += f.invalidated.bytes;
        out.functions.push(FnStatsOut {
            function: path.to_string(),
            versions: f.versions.len(),
            entries: f.current.entries + f.invalidated.entries,
            bytes: f.current.bytes + f.invalidated.bytes,
            current: f.current.into(),
            invalidated: f.invalidated.into(),
        });
    }
    if ctx.json {
        return ctx.print_json(&out);
    }
    if out.functions.is_empty() {
        return ctx.say(&format!("no cached functions in the {}", ctx.what));
    }
    let mut t = Table::new(&[
        "FUNCTION",
        ">VERSIONS",
        ">ENTRIES",
        ">SIZE",
        ">INVALIDATED",
        ">STALE SIZE",
    ]);
    for f in &out.functions {
        let stale = if f.invalidated.entries > 0 {
            style::STALE
        } else {
            style::PLAIN
        };
        t.row(vec![
            Cell::new(&*f.function).styled(style::NAME),
            Cell::num(f.versions.to_string()),
            Cell::num(f.entries.to_string()),
            Cell::num(human::size(f.bytes)),
            Cell::num(f.invalidated.entries.to_string()).styled(stale),
            Cell::num(human::size(f.invalidated.bytes)).styled(stale),
        ]);
    }
    t.row(vec![
        Cell::new("total").styled(style::HEADER),
        Cell::num(""),
        Cell::num(out.total.entries.to_string()),
        Cell::num(human::size(out.total.bytes)),
        Cell::num(out.invalidated.entries.to_string()),
        Cell::num(human::size(out.invalidated.bytes)),
    ]);
    t.print(&mut ctx.out())?;
    Ok(())
}
