//! `show`: a function's entries, or one entry's metadata.

use super::Ctx;
use crate::catalog::{by_prefix, Catalog};
use crate::error::CliError;
use crate::human;
use crate::table::{style, Cell, Table};
use checkpointer::backend::{manifest, EntryInfo};
use checkpointer::maintenance;
use serde::Serialize;
use std::time::SystemTime;

#[derive(Serialize)]
struct EntryRow {
    call: String,
    identity: String,
    current: bool,
    bytes: u64,
    created: Option<String>,
    last_use: Option<String>,
}

#[derive(Serialize)]
struct Detail {
    function: String,
    key: String,
    identity: String,
    current: bool,
    call: String,
    created: Option<String>,
    last_use: Option<String>,
    bytes: u64,
    codec: Option<String>,
    checksum: Option<String>,
    sound: bool,
    problem: Option<String>,
    parent: Option<manifest::CallRef>,
}

/// `show <fn> [call prefix]`.
pub fn show(ctx: &Ctx, function: &str, call: Option<&str>) -> Result<(), CliError> {
    let catalog = Catalog::load(&*ctx.storage)?;
    let f = catalog.find(function)?;
    let Some(call) = call else {
        return list(ctx, f);
    };
    // One call hash can have an entry in several versions (same arguments, older code):
    // match on distinct call hashes, then take the newest version's entry.
    let mut calls: Vec<checkpointer::Digest> = f.entries().map(|(_, e)| e.key.call).collect();
    calls.sort();
    calls.dedup();
    let call = by_prefix("call hash", call, calls.into_iter().map(|c| (c, c)))?;
    let (version, info) = f
        .entries()
        .find(|(_, e)| e.key.call == call)
        .ok_or_else(|| CliError::Usage(format!("no entry with call hash {}", call.short(12))))?;
    let detail = detail(ctx, f.name(), version.current, info)?;
    if ctx.json {
        return ctx.print_json(&detail);
    }
    let now = SystemTime::now();
    let at = |t: &Option<String>, age: Option<SystemTime>| match t {
        Some(t) => format!("{t} ({})", human::age(age, now)),
        None => "-".to_string(),
    };
    let mut t = Table::new(&["FIELD", "VALUE"]);
    let state = if detail.current {
        "current"
    } else {
        "invalidated"
    };
    let sound = if detail.sound {
        Cell::new("ok").styled(style::GOOD)
    } else {
        Cell::new(format!(
            "DAMAGED: {}",
            detail.problem.as_deref().unwrap_or("unknown")
        ))
        .styled(style::BAD)
    };
    let parent = detail.parent.as_ref().map_or("-".to_string(), |p| {
        format!("{} [{}]", p.function, &p.call[..12])
    });
    let rows: Vec<(&str, Cell)> = vec![
        ("function", Cell::new(&*detail.function).styled(style::NAME)),
        ("call", Cell::new(&*detail.call)),
        (
            "identity",
            Cell::new(format!("{} ({state})", detail.identity)),
        ),
        ("key", Cell::new(&*detail.key).styled(style::DIM)),
        ("created", Cell::new(at(&detail.created, info.created))),
        (
            "last use",
            Cell::new(at(&detail.last_use, Some(maintenance::last_use(info)))),
        ),
        (
            "size",
            Cell::new(format!(
                "{} ({} bytes)",
                human::size(detail.bytes),
                detail.bytes
            )),
        ),
        (
            "codec",
            Cell::new(detail.codec.clone().unwrap_or_else(|| "-".into())),
        ),
        (
            "checksum",
            Cell::new(detail.checksum.clone().unwrap_or_else(|| "-".into())),
        ),
        ("integrity", sound),
        ("parent", Cell::new(parent)),
    ];
    for (field, value) in rows {
        t.row(vec![Cell::new(field).styled(style::HEADER), value]);
    }
    t.print(&mut ctx.out())?;
    Ok(())
}

fn detail(
    ctx: &Ctx,
    function: String,
    current: bool,
    info: &EntryInfo,
) -> Result<Detail, CliError> {
    let loaded = checkpointer::backend::block_on(ctx.storage.load(&info.key));
    let (codec, checksum, problem) = match &loaded {
        Ok(Some(entry)) => (
            Some(format!("{:?}", entry.meta.codec).to_lowercase()),
            Some(entry.meta.checksum.to_hex()),
            entry.verify().err().map(|e| e.to_string()),
        ),
        Ok(None) => (None, None, Some("removed while reading".to_string())),
        Err(e) => (None, None, Some(e.to_string())),
    };
    let parent = checkpointer::backend::block_on(manifest::load_record(&*ctx.storage, &info.key))
        .ok()
        .flatten()
        .map(|r| r.parent);
    let created = match &loaded {
        Ok(Some(entry)) => Some(entry.meta.created),
        _ => info.created,
    };
    Ok(Detail {
        function,
        key: info.key.relative_path(),
        identity: info.key.identity.to_hex(),
        current,
        call: info.key.call.to_hex(),
        created: human::time(created),
        last_use: human::time(Some(maintenance::last_use(info))),
        bytes: info.size,
        codec,
        checksum,
        sound: problem.is_none(),
        problem,
        parent,
    })
}

fn list(ctx: &Ctx, f: &crate::catalog::Function) -> Result<(), CliError> {
    let rows: Vec<EntryRow> = f
        .entries()
        .map(|(v, e)| EntryRow {
            call: e.key.call.to_hex(),
            identity: v.identity.to_hex(),
            current: v.current,
            bytes: e.size,
            created: human::time(e.created),
            last_use: human::time(Some(maintenance::last_use(e))),
        })
        .collect();
    if ctx.json {
        return ctx.print_json(&rows);
    }
    let now = SystemTime::now();
    ctx.say(&format!("{} ({} entries)", f.name(), rows.len()))?;
    let mut t = Table::new(&["CALL", "VERSION", ">SIZE", "CREATED", "LAST USE"]);
    for (v, e) in f.entries() {
        let version = Cell::new(v.identity.short(12)).styled(if v.current {
            style::GOOD
        } else {
            style::STALE
        });
        t.row(vec![
            Cell::new(e.key.call.short(16)),
            version,
            Cell::num(human::size(e.size)),
            Cell::new(human::age(e.created, now)),
            Cell::new(human::age(Some(maintenance::last_use(e)), now)),
        ]);
    }
    t.print(&mut ctx.out())?;
    Ok(())
}
