//! Which crates count as user code, from the manifests: the target being compiled (from the
//! root file rustc was given), the package's library for its other targets, and its path
//! dependencies, transitively (but checkpointer's own crates). Registry and git dependencies
//! are not indexed: their `Cargo.lock` lines are pinned when the closure names them
//! ([`Plan::externals`]); `locked_versions` lists all of them for the `locked_deps` opt-in.

use super::index::{CrateSources, Stamp};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The crates whose sources make up the code a function can depend on.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The crate being compiled first, then the package's library (for its other targets)
    /// and its path dependencies.
    pub crates: Vec<CrateSources>,
    /// The workspace root (where `Cargo.lock` is).
    pub workspace_root: PathBuf,
    /// The package name of the crate being compiled.
    pub package: Option<String>,
    /// The manifests read, to tell when the plan is stale.
    pub stamps: Vec<Stamp>,
    /// `locked_deps = true` under `[package.metadata.checkpointer]` (or the workspace's
    /// `[workspace.metadata.checkpointer]`): registry versions are part of every identity.
    pub locked_deps: bool,
    /// Registry and git dependencies by the name code spells them (`serde_json`): the
    /// `name version source` lines in `Cargo.lock` of the crate and of everything it
    /// depends on, pinned when the closure names them.
    pub externals: HashMap<String, Vec<String>>,
    /// The workspace's manifests (root and members): Cargo unifies a dependency's features
    /// over them, and the root's profiles apply to every crate.
    pub workspace_manifests: Vec<PathBuf>,
}

/// Reads the manifests. `target_root` is the root file rustc compiles (`src/lib.rs`,
/// `examples/x.rs`, a `[[bin]]` path), when known; `extra_roots` are files that must be
/// indexed too (the attribute's file); `crate_name` is how the target's code names itself.
pub fn plan(
    manifest_dir: &Path,
    target_root: Option<PathBuf>,
    extra_roots: Vec<PathBuf>,
    crate_name: &str,
) -> Plan {
    let manifest_dir = canonical(manifest_dir);
    let manifest = read_toml(&manifest_dir.join("Cargo.toml"));
    let workspace_root = find_workspace_root(&manifest_dir, manifest.as_ref());
    let workspace = if workspace_root == manifest_dir {
        manifest.clone()
    } else {
        read_toml(&workspace_root.join("Cargo.toml"))
    };
    let mut stamps = vec![
        Stamp::of(&manifest_dir.join("Cargo.toml")),
        Stamp::of(&workspace_root.join("Cargo.lock")),
    ];
    if workspace_root != manifest_dir {
        stamps.push(Stamp::of(&workspace_root.join("Cargo.toml")));
    }

    let lib = manifest
        .as_ref()
        .and_then(lib_path)
        .unwrap_or_else(|| "src/lib.rs".into());
    let lib = manifest_dir.join(lib);
    let own_lib_name = manifest
        .as_ref()
        .map(lib_name)
        .unwrap_or_else(|| crate_name.to_string());
    let src = manifest_dir.join("src");
    let mut crates = Vec::new();
    match target_root.map(|r| canonical(&r)) {
        None => {
            // Not under rustc (unit tests, rust-analyzer): the library and the main binary.
            let mut roots = vec![lib.clone(), manifest_dir.join("src/main.rs")];
            roots.extend(extra_roots);
            crates.push(CrateSources {
                name: crate_name.to_string(),
                roots: existing(roots),
                dirs: vec![src],
                manifest_dir: manifest_dir.clone(),
            });
        }
        Some(root) if root == canonical(&lib) => {
            let mut roots = vec![root.clone()];
            roots.extend(extra_roots);
            crates.push(CrateSources {
                name: crate_name.to_string(),
                roots: existing(roots),
                dirs: if root.starts_with(&src) {
                    vec![src]
                } else {
                    Vec::new()
                },
                manifest_dir: manifest_dir.clone(),
            });
        }
        Some(root) => {
            // A binary, example, test or bench: its own crate, from its own root. The
            // package's library is a dependency like any other, reached only by name.
            let mut roots = vec![root];
            roots.extend(extra_roots);
            crates.push(CrateSources {
                name: crate_name.to_string(),
                roots: existing(roots),
                dirs: Vec::new(),
                manifest_dir: manifest_dir.clone(),
            });
            if lib.is_file() {
                crates.push(CrateSources {
                    name: own_lib_name,
                    roots: vec![lib.clone()],
                    dirs: if canonical(&lib).starts_with(&src) {
                        vec![src]
                    } else {
                        Vec::new()
                    },
                    manifest_dir: manifest_dir.clone(),
                });
            }
        }
    }

    let lock = LockGraph::read(&workspace_root);
    let mut externals: HashMap<String, Vec<String>> = HashMap::new();
    // Path dependencies, breadth first; dev-dependencies only for the crate being compiled
    // (tests and examples use them), not for its dependencies. Our own runtime crates are
    // not user code.
    let mut seen: HashSet<PathBuf> = HashSet::from([manifest_dir.clone()]);
    let mut queue: Vec<(PathBuf, Option<toml::Table>, bool)> =
        vec![(manifest_dir.clone(), manifest.clone(), true)];
    while let Some((dir, manifest, is_main)) = queue.pop() {
        let Some(manifest) = manifest else { continue };
        for (code, package) in registry_dependencies(&manifest, workspace.as_ref(), is_main) {
            let lines = lock.closure(&package);
            if lines.is_empty() {
                continue;
            }
            // The library may be named otherwise (`md-5` is `md5` in code).
            let squeezed = code.replace('_', "");
            if squeezed != code {
                externals
                    .entry(squeezed)
                    .or_default()
                    .extend(lines.iter().cloned());
            }
            externals.entry(code).or_default().extend(lines);
        }
        let mut deps = path_dependencies(
            &dir,
            &manifest,
            &workspace_root,
            workspace.as_ref(),
            is_main,
        );
        if is_main {
            // `[patch.crates-io] x = { path = … }`: the patched source is what builds.
            deps.extend(patch_paths(&workspace_root, workspace.as_ref()));
            if workspace_root != dir {
                deps.extend(patch_paths(&dir, Some(&manifest)));
            }
        }
        for dep_dir in deps {
            let dep_dir = canonical(&dep_dir);
            if !seen.insert(dep_dir.clone()) {
                continue;
            }
            let dep_manifest = read_toml(&dep_dir.join("Cargo.toml"));
            stamps.push(Stamp::of(&dep_dir.join("Cargo.toml")));
            let Some(m) = &dep_manifest else { continue };
            let package = m
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("");
            if package == "checkpointer" || package.starts_with("checkpointer-") {
                continue;
            }
            let mut roots = vec![dep_dir.join("src/lib.rs")];
            if let Some(lib) = lib_path(m) {
                roots.push(dep_dir.join(lib));
            }
            crates.push(CrateSources {
                name: lib_name(m),
                roots: existing(roots),
                dirs: vec![dep_dir.join("src")],
                manifest_dir: dep_dir.clone(),
            });
            queue.push((dep_dir, dep_manifest, false));
        }
    }
    for lines in externals.values_mut() {
        lines.sort();
        lines.dedup();
    }
    let package = manifest
        .as_ref()
        .and_then(|m| m.get("package")?.get("name")?.as_str().map(String::from));
    let metadata = |m: Option<&toml::Table>, section: &str| {
        let table = m.and_then(|m| m.get(section)?.get("metadata")?.get("checkpointer"));
        table
            .and_then(|t| {
                t.get("locked_deps")
                    .or_else(|| t.get("locked-deps"))?
                    .as_bool()
            })
            .unwrap_or(false)
    };
    let locked_deps =
        metadata(manifest.as_ref(), "package") || metadata(workspace.as_ref(), "workspace");
    let workspace_manifests = workspace_manifests(&workspace_root, workspace.as_ref());
    Plan {
        crates,
        workspace_root,
        package,
        stamps,
        locked_deps,
        externals,
        workspace_manifests,
    }
}

/// The edition of the package at `dir` (`edition.workspace = true` resolved), `2015` when
/// none is written.
pub fn edition(dir: &Path, workspace_root: &Path) -> String {
    let Some(m) = read_toml(&dir.join("Cargo.toml")) else {
        return "unknown".into();
    };
    let e = m.get("package").and_then(|p| p.get("edition"));
    match e {
        Some(toml::Value::String(s)) => s.clone(),
        Some(t) if t.get("workspace").and_then(|w| w.as_bool()) == Some(true) => {
            read_toml(&workspace_root.join("Cargo.toml"))
                .and_then(|w| {
                    w.get("workspace")?
                        .get("package")?
                        .get("edition")?
                        .as_str()
                        .map(String::from)
                })
                .unwrap_or_else(|| "unknown".into())
        }
        _ => "2015".into(),
    }
}

fn existing(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    paths
        .into_iter()
        .filter(|p| p.is_file() && seen.insert(canonical(p)))
        .collect()
}

/// How code names the library of `manifest`: `[lib] name`, else the package name.
fn lib_name(m: &toml::Table) -> String {
    m.get("lib")
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .or_else(|| {
            m.get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
        })
        .unwrap_or("dep")
        .replace('-', "_")
}

/// The packages of `Cargo.lock` and what each depends on.
#[derive(Default)]
struct LockGraph {
    /// name, version, source (registry or git), dependency specs.
    packages: Vec<(String, String, Option<String>, Vec<String>)>,
}

impl LockGraph {
    fn read(workspace_root: &Path) -> LockGraph {
        let mut out = LockGraph::default();
        let Some(lock) = read_toml(&workspace_root.join("Cargo.lock")) else {
            return out;
        };
        for p in lock
            .get("package")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(version)) = (
                p.get("name").and_then(|v| v.as_str()),
                p.get("version").and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            let source = p.get("source").and_then(|v| v.as_str()).map(String::from);
            let deps = p
                .get("dependencies")
                .and_then(|d| d.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            out.packages
                .push((name.to_string(), version.to_string(), source, deps));
        }
        out
    }

    /// `name version source` of every registry or git package named `package` and of
    /// everything they depend on: upgrading `ryu` under `serde_json` changes its output.
    fn closure(&self, package: &str) -> Vec<String> {
        let find = |spec: &str| -> Vec<usize> {
            let mut parts = spec.split(' ');
            let name = parts.next().unwrap_or("");
            let version = parts.next();
            (0..self.packages.len())
                .filter(|&i| {
                    self.packages[i].0 == name && version.is_none_or(|v| self.packages[i].1 == v)
                })
                .collect()
        };
        let mut queue: Vec<usize> = find(package)
            .into_iter()
            .filter(|&i| self.packages[i].2.is_some())
            .collect();
        let mut seen: HashSet<usize> = queue.iter().copied().collect();
        let mut out = Vec::new();
        while let Some(i) = queue.pop() {
            let (name, version, source, deps) = &self.packages[i];
            if let Some(source) = source {
                out.push(format!("{name} {version} {source}"));
            }
            for d in deps {
                for j in find(d) {
                    if seen.insert(j) {
                        queue.push(j);
                    }
                }
            }
        }
        out.sort();
        out
    }
}

/// Directories of `[patch.*]` path entries of a manifest.
fn patch_paths(dir: &Path, manifest: Option<&toml::Table>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for table in manifest
        .and_then(|m| m.get("patch")?.as_table())
        .into_iter()
        .flat_map(|t| t.values())
    {
        for spec in table.as_table().into_iter().flat_map(|t| t.values()) {
            if let Some(p) = spec.get("path").and_then(|p| p.as_str()) {
                out.push(dir.join(p));
            }
        }
    }
    out
}

/// The workspace root manifest and every member's (`members`, with `dir/*` globs).
fn workspace_manifests(root: &Path, workspace: Option<&toml::Table>) -> Vec<PathBuf> {
    let mut out = vec![root.join("Cargo.toml")];
    let members = workspace
        .and_then(|w| w.get("workspace")?.get("members")?.as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str());
    for m in members {
        match m.strip_suffix("/*") {
            Some(dir) => {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path().join("Cargo.toml"))
                    .filter(|p| p.is_file())
                    .collect();
                dirs.sort();
                out.extend(dirs);
            }
            None => out.push(root.join(m).join("Cargo.toml")),
        }
    }
    out
}

/// `(name in code, package name)` of the non-path dependencies of a manifest.
fn registry_dependencies(
    manifest: &toml::Table,
    workspace: Option<&toml::Table>,
    with_dev: bool,
) -> Vec<(String, String)> {
    let ws_deps = workspace.and_then(|w| w.get("workspace")?.get("dependencies")?.as_table());
    let mut out = Vec::new();
    for table in dependency_tables(manifest, with_dev) {
        for (key, spec) in table {
            let spec = if spec.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
                ws_deps.and_then(|d| d.get(key)).unwrap_or(spec)
            } else {
                spec
            };
            if spec.get("path").is_some() {
                continue;
            }
            let package = spec.get("package").and_then(|p| p.as_str()).unwrap_or(key);
            out.push((key.replace('-', "_"), package.to_string()));
        }
    }
    out
}

fn dependency_tables(manifest: &toml::Table, with_dev: bool) -> Vec<&toml::Table> {
    let mut tables: Vec<&toml::Table> = Vec::new();
    let kinds: &[&str] = if with_dev {
        &["dependencies", "dev-dependencies"]
    } else {
        &["dependencies"]
    };
    for kind in kinds {
        if let Some(t) = manifest.get(*kind).and_then(|t| t.as_table()) {
            tables.push(t);
        }
    }
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for target in targets.values() {
            for kind in kinds {
                if let Some(t) = target.get(*kind).and_then(|t| t.as_table()) {
                    tables.push(t);
                }
            }
        }
    }
    tables
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn read_toml(path: &Path) -> Option<toml::Table> {
    std::fs::read_to_string(path).ok()?.parse().ok()
}

fn lib_path(manifest: &toml::Table) -> Option<String> {
    manifest.get("lib")?.get("path")?.as_str().map(String::from)
}

/// The directory of the workspace the crate belongs to: `package.workspace` if set, else the
/// nearest ancestor whose manifest has a `[workspace]` (the crate itself when none has).
fn find_workspace_root(manifest_dir: &Path, manifest: Option<&toml::Table>) -> PathBuf {
    if let Some(ws) = manifest.and_then(|m| {
        m.get("package")?
            .get("workspace")?
            .as_str()
            .map(String::from)
    }) {
        return canonical(&manifest_dir.join(ws));
    }
    let mut dir = Some(manifest_dir);
    while let Some(d) = dir {
        if let Some(m) = read_toml(&d.join("Cargo.toml")) {
            if m.contains_key("workspace") {
                return d.to_path_buf();
            }
        }
        dir = d.parent();
    }
    manifest_dir.to_path_buf()
}

/// Directories of the `path = …` dependencies of a manifest, including `workspace = true`
/// ones whose `[workspace.dependencies]` entry has a path.
fn path_dependencies(
    dir: &Path,
    manifest: &toml::Table,
    ws_root: &Path,
    workspace: Option<&toml::Table>,
    with_dev: bool,
) -> Vec<PathBuf> {
    let tables = dependency_tables(manifest, with_dev);
    let ws_deps = workspace.and_then(|w| w.get("workspace")?.get("dependencies")?.as_table());
    let mut out = Vec::new();
    for table in tables {
        for (key, spec) in table {
            if let Some(p) = spec.get("path").and_then(|p| p.as_str()) {
                out.push(dir.join(p));
            } else if spec.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
                if let Some(p) = ws_deps.and_then(|d| d.get(key)?.get("path")?.as_str()) {
                    out.push(ws_root.join(p));
                }
            }
        }
    }
    out
}

/// `name version source` of every registry or git package the package depends on,
/// transitively, as `Cargo.lock` resolves them; sorted. `None` without a readable lock file.
pub fn locked_versions(workspace_root: &Path, package: &str) -> Option<Vec<String>> {
    let lock = read_toml(&workspace_root.join("Cargo.lock"))?;
    let packages = lock.get("package")?.as_array()?;
    struct Pkg<'a> {
        name: &'a str,
        version: &'a str,
        source: Option<&'a str>,
        deps: Vec<&'a str>,
    }
    let pkgs: Vec<Pkg> = packages
        .iter()
        .filter_map(|p| {
            Some(Pkg {
                name: p.get("name")?.as_str()?,
                version: p.get("version")?.as_str()?,
                source: p.get("source").and_then(|s| s.as_str()),
                deps: p
                    .get("dependencies")
                    .and_then(|d| d.as_array())
                    .map(|a| a.iter().filter_map(|d| d.as_str()).collect())
                    .unwrap_or_default(),
            })
        })
        .collect();
    // A dependency is written `name`, `name version` or `name version (source)`.
    let find = |spec: &str| -> Option<usize> {
        let mut parts = spec.split(' ');
        let name = parts.next()?;
        let version = parts.next();
        pkgs.iter()
            .position(|p| p.name == name && version.is_none_or(|v| p.version == v))
    };
    let start = pkgs
        .iter()
        .position(|p| p.name == package && p.source.is_none())?;
    let mut seen = HashSet::from([start]);
    let mut queue = vec![start];
    let mut out = BTreeSet::new();
    while let Some(i) = queue.pop() {
        let p = &pkgs[i];
        if let Some(source) = p.source {
            out.insert(format!("{} {} {}", p.name, p.version, source));
        }
        for d in &p.deps {
            if let Some(j) = find(d) {
                if seen.insert(j) {
                    queue.push(j);
                }
            }
        }
    }
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn follows_workspace_path_dependencies_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = canonical(tmp.path()).join("ws");
        write(&root.join("Cargo.toml"), "[workspace]\nmembers = [\"app\", \"lib-a\", \"lib-b\"]\n[workspace.dependencies]\nlib-b = { path = \"lib-b\" }\n");
        write(
            &root.join("app/Cargo.toml"),
            "[package]\nname = \"app\"\n[dependencies]\nlib-a = { path = \"../lib-a\" }\noutside = { path = \"../../outside\" }\nserde = \"1\"\n",
        );
        write(
            &root.join("lib-a/Cargo.toml"),
            "[package]\nname = \"lib-a\"\n[dependencies]\nlib-b.workspace = true\n",
        );
        write(
            &root.join("lib-b/Cargo.toml"),
            "[package]\nname = \"lib-b\"\n[lib]\nname = \"bee\"\n",
        );
        write(
            &tmp.path().join("outside/Cargo.toml"),
            "[package]\nname = \"outside\"\n",
        );
        write(&root.join("app/src/main.rs"), "fn main() {}");
        let plan = plan(
            &root.join("app"),
            Some(root.join("app/src/main.rs")),
            Vec::new(),
            "app",
        );
        let mut names: Vec<&str> = plan.crates.iter().map(|c| c.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["app", "bee", "lib_a", "outside"]);
        assert!(plan.externals.is_empty(), "no lock file: nothing pinned");
        assert_eq!(plan.workspace_root, root);
        assert_eq!(plan.package.as_deref(), Some("app"));
    }

    #[test]
    fn locked_versions_walk_the_lock_graph() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = r#"
version = 4
[[package]]
name = "app"
version = "0.1.0"
dependencies = ["lib-a", "serde"]
[[package]]
name = "lib-a"
version = "0.1.0"
dependencies = ["itoa 1.0.1"]
[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://example.invalid/index"
[[package]]
name = "itoa"
version = "1.0.1"
source = "registry+https://example.invalid/index"
[[package]]
name = "itoa"
version = "0.4.0"
source = "registry+https://example.invalid/index"
"#;
        write(&tmp.path().join("Cargo.lock"), lock);
        let v = locked_versions(tmp.path(), "app").unwrap();
        assert_eq!(
            v,
            [
                "itoa 1.0.1 registry+https://example.invalid/index",
                "serde 1.0.200 registry+https://example.invalid/index"
            ]
        );
    }
}
