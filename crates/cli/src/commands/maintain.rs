//! `cleanup`, `prune` and `rm`: the core's maintenance, with a report of what went.

use super::Ctx;
use crate::catalog::Catalog;
use crate::error::CliError;
use crate::human;
use crate::table::{style, Cell, Table};
use checkpointer::backend::{EntryInfo, Scope};
use checkpointer::maintenance::{self, PruneRule};
use checkpointer::Expiry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[derive(Serialize)]
struct Removal {
    dry_run: bool,
    removed: Totals,
    kept: Option<Totals>,
    functions: Vec<FnRemoval>,
}

#[derive(Serialize, Default, Clone, Copy)]
struct Totals {
    entries: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct FnRemoval {
    function: String,
    identity: String,
    entries: u64,
    bytes: u64,
    last_use: Option<String>,
}

/// Groups entries per function and version, for the report.
fn by_version(entries: &[EntryInfo]) -> (Totals, Vec<FnRemoval>) {
    let mut groups: BTreeMap<(String, String), (Totals, SystemTime)> = BTreeMap::new();
    let mut total = Totals::default();
    for e in entries {
        let g = groups
            .entry((e.key.function.to_string(), e.key.identity.to_hex()))
            .or_insert((Totals::default(), SystemTime::UNIX_EPOCH));
        g.0.entries += 1;
        g.0.bytes += e.size;
        g.1 = g.1.max(maintenance::last_use(e));
        total.entries += 1;
        total.bytes += e.size;
    }
    let rows = groups
        .into_iter()
        .map(|((function, identity), (t, last))| FnRemoval {
            function,
            identity,
            entries: t.entries,
            bytes: t.bytes,
            last_use: human::time(Some(last)),
        })
        .collect();
    (total, rows)
}

fn report(ctx: &Ctx, out: &Removal, what: &str) -> Result<(), CliError> {
    if ctx.json {
        return ctx.print_json(out);
    }
    let verb = if out.dry_run {
        "would remove"
    } else {
        "removed"
    };
    if out.functions.is_empty() {
        return ctx.say(&format!("nothing to remove: no {what} in the {}", ctx.what));
    }
    let mut t = Table::new(&["FUNCTION", "VERSION", ">ENTRIES", ">SIZE", "LAST USE"]);
    let now = SystemTime::now();
    for f in &out.functions {
        let last = f
            .last_use
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339(t).ok());
        t.row(vec![
            Cell::new(&*f.function).styled(style::NAME),
            Cell::new(&f.identity[..12]).styled(style::DIM),
            Cell::num(f.entries.to_string()),
            Cell::num(human::size(f.bytes)),
            Cell::new(human::age(last, now)),
        ]);
    }
    t.print(&mut ctx.out())?;
    let kept = out.kept.map_or(String::new(), |k| {
        format!("; {} entries ({}) kept", k.entries, human::size(k.bytes))
    });
    let style = if out.dry_run {
        style::STALE
    } else {
        style::BAD
    };
    ctx.say(&format!(
        "{}{verb} {} entries ({}){}{kept}",
        style.render(),
        out.removed.entries,
        human::size(out.removed.bytes),
        style.render_reset(),
    ))
}

/// `cleanup [--expired-after AGE] [--dry-run]`.
pub fn cleanup(ctx: &Ctx, expired_after: Option<Duration>, dry_run: bool) -> Result<(), CliError> {
    let expiry = expired_after.map(Expiry::After);
    let storage = &*ctx.storage;
    let plan = checkpointer::backend::block_on(maintenance::plan_cleanup_all(
        storage,
        true,
        expiry.as_ref(),
    ))?;
    let (mut removed, functions) = by_version(&plan);
    if !dry_run {
        // The count is what was removed; the bytes are the plan's (entries removed by someone
        // else in between are the only difference).
        removed.entries = checkpointer::backend::block_on(maintenance::cleanup_all(
            storage,
            true,
            expiry.as_ref(),
        ))?;
    }
    let out = Removal {
        dry_run,
        removed,
        kept: None,
        functions,
    };
    report(ctx, &out, "invalidated versions or expired entries")
}

/// `prune [--older-than AGE] [--max-size SIZE] [--dry-run] [--function FN]`.
pub fn prune(
    ctx: &Ctx,
    older_than: Option<Duration>,
    max_size: Option<u64>,
    dry_run: bool,
    function: Option<&str>,
) -> Result<(), CliError> {
    if older_than.is_none() && max_size.is_none() {
        return Err(CliError::Usage(
            "prune needs --older-than AGE and/or --max-size SIZE".to_string(),
        ));
    }
    let rule = PruneRule {
        max_age: older_than,
        max_bytes: max_size,
    };
    let scope = match function {
        Some(q) => Scope::Function(Arc::new(
            Catalog::load(&*ctx.storage)?.find(q)?.path.clone(),
        )),
        None => Scope::All,
    };
    let storage = &*ctx.storage;
    let plan = checkpointer::backend::block_on(maintenance::plan_prune(storage, &scope, rule))?;
    let (mut removed, functions) = by_version(&plan.remove);
    let (mut kept, _) = by_version(&plan.keep);
    if !dry_run {
        let done = checkpointer::backend::block_on(maintenance::prune(storage, &scope, rule))?;
        removed = Totals {
            entries: done.removed.entries,
            bytes: done.removed.bytes,
        };
        kept = Totals {
            entries: done.kept.entries,
            bytes: done.kept.bytes,
        };
    }
    let out = Removal {
        dry_run,
        removed,
        kept: Some(kept),
        functions,
    };
    report(ctx, &out, "entries over the limits")
}

/// `rm <fn>`: every entry of one function.
pub fn rm(ctx: &Ctx, function: &str) -> Result<(), CliError> {
    let catalog = Catalog::load(&*ctx.storage)?;
    let f = catalog.find(function)?;
    let entries: Vec<EntryInfo> = f.entries().map(|(_, e)| e.clone()).collect();
    let (_, functions) = by_version(&entries);
    let scope = Scope::Function(Arc::new(f.path.clone()));
    let n = checkpointer::backend::block_on(maintenance::clear(&*ctx.storage, &scope))?;
    let out = Removal {
        dry_run: false,
        removed: Totals {
            entries: n,
            bytes: entries.iter().map(|e| e.size).sum(),
        },
        kept: None,
        functions,
    };
    report(ctx, &out, "entries")
}
