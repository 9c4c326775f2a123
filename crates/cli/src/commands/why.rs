//! `why`: what changed between two identity versions of a function, from their manifests.

use super::Ctx;
use crate::catalog::{by_prefix, Catalog};
use crate::error::CliError;
use crate::table::{style, Cell, Table};
use checkpointer::backend::manifest::{self, Manifest, MANIFEST_CALL};
use checkpointer::Digest;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Serialize)]
struct WhyOut {
    function: String,
    old: VersionOut,
    new: VersionOut,
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
}

#[derive(Serialize)]
struct VersionOut {
    identity: String,
    current: bool,
    /// Whether `fn_hash_from` set this identity (so the items did not decide it).
    pinned: bool,
}

/// `why <fn> [old new]`.
pub fn why(
    ctx: &Ctx,
    function: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), CliError> {
    let catalog = Catalog::load(&*ctx.storage)?;
    let f = catalog.find(function)?;
    // Versions newest first, then any version known only by its manifest.
    let mut versions: Vec<Digest> = f.versions.iter().map(|v| v.identity).collect();
    let dir = f.path.dir();
    for (owner, info) in &catalog.meta {
        if info.key.call == MANIFEST_CALL
            && owner.dir() == dir
            && !versions.contains(&info.key.identity)
        {
            versions.push(info.key.identity);
        }
    }
    let pick = |prefix: &str| by_prefix("version", prefix, versions.iter().map(|d| (*d, *d)));
    let (old, new) = match (old, new) {
        (Some(o), Some(n)) => (pick(o)?, pick(n)?),
        (Some(o), None) => (pick(o)?, versions[0]),
        (None, _) => match versions.as_slice() {
            [newest, second, ..] => (*second, *newest),
            _ => {
                return Err(CliError::Usage(format!(
                    "{} has one identity version in the store: nothing to compare",
                    f.name()
                )))
            }
        },
    };
    let load = |id: Digest| -> Result<Manifest, CliError> {
        checkpointer::backend::block_on(manifest::load_manifest(&*ctx.storage, &f.path, id))?.ok_or_else(|| {
            CliError::Usage(format!(
                "no manifest recorded for version {} of {} (it is written when a value is first computed by a program built with this checkpointer)",
                id.short(12),
                f.name()
            ))
        })
    };
    let (mo, mn) = (load(old)?, load(new)?);
    let (a, b) = (items(&mo), items(&mn));
    let mut out = WhyOut {
        function: f.name(),
        old: version_out(f, old, &mo),
        new: version_out(f, new, &mn),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    for path in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        match (a.get(path), b.get(path)) {
            (None, Some(_)) => out.added.push(path.clone()),
            (Some(_), None) => out.removed.push(path.clone()),
            (Some(x), Some(y)) if x != y => out.changed.push(path.clone()),
            _ => {}
        }
    }
    if ctx.json {
        return ctx.print_json(&out);
    }
    let label = |v: &VersionOut| {
        let state = if v.current { "current" } else { "invalidated" };
        format!("{} ({state})", &v.identity[..12])
    };
    ctx.say(&format!(
        "{}{}{}: {} -> {}",
        style::NAME.render(),
        out.function,
        style::NAME.render_reset(),
        label(&out.old),
        label(&out.new)
    ))?;
    let mut t = Table::new(&["CHANGE", "ITEM"]);
    for (what, list, s) in [
        ("changed", &out.changed, style::STALE),
        ("added", &out.added, style::GOOD),
        ("removed", &out.removed, style::BAD),
    ] {
        for path in list {
            t.row(vec![Cell::new(what).styled(s), Cell::new(&**path)]);
        }
    }
    if !t.is_empty() {
        t.print(&mut ctx.out())?;
    }
    if out.old.pinned || out.new.pinned {
        ctx.say("fn_hash_from sets the identity of a pinned version: its items did not decide it")?;
    } else if t.is_empty() {
        ctx.say("the items are the same: the identities differ in what else they cover (the attribute's options, cargo features and cfg, crate versions)")?;
    }
    Ok(())
}

fn items(m: &Manifest) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, hash) in &m.items {
        map.entry(path.clone()).or_default().push(hash.clone());
    }
    map.values_mut().for_each(|v| v.sort());
    map
}

fn version_out(f: &crate::catalog::Function, id: Digest, m: &Manifest) -> VersionOut {
    VersionOut {
        identity: id.to_hex(),
        current: f.versions.iter().any(|v| v.identity == id && v.current),
        pinned: m.compiled != m.identity,
    }
}
