//! `graph`: which cached calls were computed inside which, from the call records.

use super::Ctx;
use crate::catalog::Catalog;
use crate::error::CliError;
use crate::table::style;
use checkpointer::backend::manifest::{self, CallRef, MANIFEST_CALL};
use checkpointer::backend::Key;
use checkpointer::Digest;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::sync::Arc;

/// A call: function directory, identity, call hash (hex).
type Id = (String, String, String);

#[derive(Serialize)]
struct Node {
    function: String,
    #[serde(skip)]
    dir: String,
    identity: String,
    call: String,
    /// Whether the entry is still in the store.
    present: bool,
    /// Whether it belongs to its function's current version.
    current: bool,
    children: Vec<Node>,
}

/// `graph [fn]`.
pub fn graph(ctx: &Ctx, function: Option<&str>) -> Result<(), CliError> {
    let catalog = Catalog::load(&*ctx.storage)?;
    let only = function
        .map(|q| catalog.find(q))
        .transpose()?
        .map(|f| f.path.dir());
    let current: HashSet<(String, String)> = catalog
        .functions
        .iter()
        .filter_map(|f| {
            let v = f.versions.first()?;
            Some((f.path.dir(), v.identity.to_hex()))
        })
        .collect();
    let present: HashSet<Id> = catalog
        .functions
        .iter()
        .flat_map(|f| f.entries())
        .map(|(_, e)| id_of(&e.key))
        .collect();
    let mut names: BTreeMap<Id, String> = BTreeMap::new();
    let mut children: BTreeMap<Id, BTreeSet<Id>> = BTreeMap::new();
    let mut has_parent: HashSet<Id> = HashSet::new();
    for (owner, info) in &catalog.meta {
        if info.key.call == MANIFEST_CALL {
            continue;
        }
        let key = Key {
            function: Arc::new(owner.clone()),
            identity: info.key.identity,
            call: info.key.call,
        };
        // An unreadable record is left out: `verify` reports it.
        let Ok(Some(record)) =
            checkpointer::backend::block_on(manifest::load_record(&*ctx.storage, &key))
        else {
            continue;
        };
        let child = id_of(&key);
        let parent = ref_id(&record.parent);
        names.insert(child.clone(), owner.to_string());
        names
            .entry(parent.clone())
            .or_insert(record.parent.function.clone());
        has_parent.insert(child.clone());
        children.entry(parent).or_default().insert(child);
    }
    let roots: Vec<&Id> = children
        .keys()
        .filter(|id| !has_parent.contains(*id))
        .collect();
    let mut trees = Vec::new();
    for root in roots {
        let mut seen = HashSet::new();
        let tree = build(root, &children, &names, (&present, &current), &mut seen);
        if only.as_ref().is_none_or(|dir| contains(&tree, dir)) {
            trees.push(tree);
        }
    }
    // Trees of current versions first.
    trees.sort_by_key(|t| !t.current);
    if ctx.json {
        return ctx.print_json(&trees);
    }
    if trees.is_empty() {
        return ctx.say(&format!(
            "no nested cached calls recorded in the {}",
            ctx.what
        ));
    }
    let mut out = ctx.out();
    for tree in &trees {
        print(&mut out, tree, "", "")?;
    }
    Ok(())
}

fn id_of(key: &Key) -> Id {
    (key.function.dir(), key.identity.to_hex(), key.call.to_hex())
}

fn ref_id(r: &CallRef) -> Id {
    (r.dir.clone(), r.identity.clone(), r.call.clone())
}

fn build(
    id: &Id,
    children: &BTreeMap<Id, BTreeSet<Id>>,
    names: &BTreeMap<Id, String>,
    known: (&HashSet<Id>, &HashSet<(String, String)>),
    seen: &mut HashSet<Id>,
) -> Node {
    seen.insert(id.clone());
    let kids = children
        .get(id)
        .into_iter()
        .flatten()
        // Records are data from the store: a cycle among them must not loop forever.
        .filter(|c| !seen.contains(*c))
        .cloned()
        .collect::<Vec<_>>();
    Node {
        function: names.get(id).cloned().unwrap_or_else(|| id.0.clone()),
        dir: id.0.clone(),
        identity: id.1.clone(),
        call: id.2.clone(),
        present: known.0.contains(id),
        current: known.1.contains(&(id.0.clone(), id.1.clone())),
        children: kids
            .iter()
            .map(|c| build(c, children, names, known, seen))
            .collect(),
    }
}

fn contains(node: &Node, dir: &str) -> bool {
    node.dir == dir || node.children.iter().any(|c| contains(c, dir))
}

fn print(out: &mut impl Write, node: &Node, lead: &str, child_lead: &str) -> std::io::Result<()> {
    let call = Digest::from_hex(&node.call).map_or(node.call.clone(), |d| d.short(12));
    let note = match (node.present, node.current) {
        (false, _) => " (not in the store)",
        (true, false) => " (invalidated)",
        (true, true) => "",
    };
    let gone = format!(
        "{}{note}{}",
        style::STALE.render(),
        style::STALE.render_reset()
    );
    writeln!(
        out,
        "{lead}{}{}{} {}[{call}]{}{gone}",
        style::NAME.render(),
        node.function,
        style::NAME.render_reset(),
        style::DIM.render(),
        style::DIM.render_reset(),
    )?;
    for (i, c) in node.children.iter().enumerate() {
        let last = i + 1 == node.children.len();
        let (l, cl) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        print(
            out,
            c,
            &format!("{child_lead}{l}"),
            &format!("{child_lead}{cl}"),
        )?;
    }
    Ok(())
}
