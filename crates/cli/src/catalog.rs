//! What a store holds, grouped: functions, their identity versions, their entries; and
//! finding a function by the name users write.

use crate::error::CliError;
use checkpointer::backend::manifest;
use checkpointer::backend::{EntryInfo, FnPath, Scope};
use checkpointer::{maintenance, Digest, Storage};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// A store's contents.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Functions, by name.
    pub functions: Vec<Function>,
    /// Metadata objects (manifests and call records), with the function they belong to.
    pub meta: Vec<(FnPath, EntryInfo)>,
}

/// One cached function.
#[derive(Debug)]
pub struct Function {
    /// Its path.
    pub path: FnPath,
    /// Its versions, newest first (the first is current).
    pub versions: Vec<Version>,
}

/// One identity version of a function.
#[derive(Debug)]
pub struct Version {
    /// The identity hash.
    pub identity: Digest,
    /// Whether it is the function's current version (the one with the newest entry).
    pub current: bool,
    /// Its entries.
    pub entries: Vec<EntryInfo>,
}

impl Version {
    /// Stored bytes.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// When its newest entry was created.
    pub fn newest(&self) -> Option<SystemTime> {
        self.entries.iter().filter_map(|e| e.created).max()
    }

    /// Its most recent use.
    pub fn last_use(&self) -> Option<SystemTime> {
        self.entries.iter().map(maintenance::last_use).max()
    }
}

impl Function {
    /// The name as users write it.
    pub fn name(&self) -> String {
        self.path.to_string()
    }

    /// All entries, every version.
    pub fn entries(&self) -> impl Iterator<Item = (&Version, &EntryInfo)> {
        self.versions
            .iter()
            .flat_map(|v| v.entries.iter().map(move |e| (v, e)))
    }
}

impl Catalog {
    /// Lists the whole store. A store that does not exist yet is empty.
    pub fn load(storage: &dyn Storage) -> Result<Catalog, CliError> {
        let infos = checkpointer::backend::block_on(storage.list(&Scope::All))?;
        let mut catalog = Catalog::default();
        let mut by_fn: BTreeMap<String, (FnPath, Vec<EntryInfo>)> = BTreeMap::new();
        for info in infos {
            if let Some(owner) = manifest::owner(&info.key.function) {
                catalog.meta.push((owner, info));
                continue;
            }
            let path = (*info.key.function).clone();
            by_fn
                .entry(path.to_string())
                .or_insert_with(|| (path, Vec::new()))
                .1
                .push(info);
        }
        for (_, (path, entries)) in by_fn {
            let current = maintenance::newest_identity(&entries);
            let mut versions: BTreeMap<Digest, Vec<EntryInfo>> = BTreeMap::new();
            for e in entries {
                versions.entry(e.key.identity).or_default().push(e);
            }
            let mut versions: Vec<Version> = versions
                .into_iter()
                .map(|(identity, mut entries)| {
                    entries.sort_by_key(|e| std::cmp::Reverse(e.created));
                    Version {
                        identity,
                        current: Some(identity) == current,
                        entries,
                    }
                })
                .collect();
            versions.sort_by_key(|v| (std::cmp::Reverse(v.current), std::cmp::Reverse(v.newest())));
            catalog.functions.push(Function { path, versions });
        }
        Ok(catalog)
    }

    /// The function named `query`: a full path (`app::features::embed`), any tail of it
    /// (`features::embed`, `embed`, `Model.predict`), or an unambiguous prefix of one of those.
    pub fn find(&self, query: &str) -> Result<&Function, CliError> {
        let query = query.trim();
        let tails = |f: &Function| {
            let name = f.name();
            let segments: Vec<String> = name.split("::").map(str::to_string).collect();
            (0..segments.len())
                .map(|i| segments[i..].join("::"))
                .collect::<Vec<_>>()
        };
        let exact: Vec<&Function> = self
            .functions
            .iter()
            .filter(|f| tails(f).iter().any(|t| t == query))
            .collect();
        let found = if exact.is_empty() {
            self.functions
                .iter()
                .filter(|f| tails(f).iter().any(|t| t.starts_with(query)))
                .collect()
        } else {
            exact
        };
        match found.as_slice() {
            [] => Err(CliError::NoFunction(query.to_string())),
            [one] => Ok(one),
            many => Err(CliError::Ambiguous {
                query: query.to_string(),
                matches: many.iter().map(|f| f.name()).collect(),
            }),
        }
    }

    /// Only the function named `query` (all of them when `None`).
    pub fn only(&self, query: Option<&str>) -> Result<Vec<&Function>, CliError> {
        match query {
            Some(q) => Ok(vec![self.find(q)?]),
            None => Ok(self.functions.iter().collect()),
        }
    }
}

/// The one candidate whose hash (identity or call) starts with the hex `prefix`.
pub fn by_prefix<T>(
    what: &str,
    prefix: &str,
    candidates: impl IntoIterator<Item = (Digest, T)>,
) -> Result<T, CliError> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(CliError::Usage(format!(
            "{what} {prefix:?} is not a hex prefix"
        )));
    }
    let mut found: Vec<(Digest, T)> = candidates
        .into_iter()
        .filter(|(d, _)| d.to_hex().starts_with(&prefix))
        .collect();
    match found.len() {
        0 => Err(CliError::Usage(format!("no {what} starts with {prefix}"))),
        1 => Ok(found.remove(0).1),
        _ => Err(CliError::Usage(format!(
            "{what} prefix {prefix} is ambiguous: {}",
            found
                .iter()
                .map(|(d, _)| d.short(12))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(module_path: &str, name: &str) -> Function {
        Function {
            path: FnPath::from_module_path(module_path, name),
            versions: Vec::new(),
        }
    }

    #[test]
    fn names_as_users_write_them() {
        let c = Catalog {
            functions: vec![
                function("app", "square"),
                function("app::features", "embed"),
                function("app::features", "embed_all"),
                function("app::model", "Model.predict"),
                function("app::model", "Model.train"),
            ],
            meta: Vec::new(),
        };
        let name = |q: &str| c.find(q).map(|f| f.name());
        assert_eq!(name("square").unwrap(), "app::square");
        assert_eq!(name("squ").unwrap(), "app::square");
        assert_eq!(
            name("app::features::embed").unwrap(),
            "app::features::embed"
        );
        // An exact match wins over longer names it prefixes.
        assert_eq!(name("embed").unwrap(), "app::features::embed");
        assert_eq!(name("Model.predict").unwrap(), "app::model::Model.predict");
        assert!(matches!(c.find("Model."), Err(CliError::Ambiguous { .. })));
        assert!(matches!(c.find("cube"), Err(CliError::NoFunction(_))));
    }
}
