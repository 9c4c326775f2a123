//! Which crates count as user code, from the manifests: the crate being compiled and its
//! path dependencies inside the same workspace, transitively. Registry and git dependencies
//! are not followed; `locked_versions` lists their resolved versions from `Cargo.lock` for
//! the opt-in that adds them to the identity.

use super::index::{CrateSources, Stamp};
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// The crates whose sources make up the code a function can depend on.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The crate being compiled first, then its workspace path dependencies.
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
}

/// Reads the manifests. `roots` are the crate's root files (lib.rs, main.rs, the test or
/// example being compiled); `crate_name` is how its code names it.
pub fn plan(manifest_dir: &Path, roots: Vec<PathBuf>, crate_name: &str) -> Plan {
    let manifest_dir = canonical(manifest_dir);
    let manifest = read_toml(&manifest_dir.join("Cargo.toml"));
    let workspace_root = find_workspace_root(&manifest_dir, manifest.as_ref());
    let workspace = if workspace_root == manifest_dir {
        manifest.clone()
    } else {
        read_toml(&workspace_root.join("Cargo.toml"))
    };
    let mut stamps = vec![Stamp::of(&manifest_dir.join("Cargo.toml"))];
    if workspace_root != manifest_dir {
        stamps.push(Stamp::of(&workspace_root.join("Cargo.toml")));
    }

    let mut crates = vec![CrateSources {
        name: crate_name.to_string(),
        roots,
        dirs: vec![manifest_dir.join("src")],
    }];
    if let Some(lib) = manifest.as_ref().and_then(lib_path) {
        crates[0].roots.push(manifest_dir.join(lib));
    }

    // Path dependencies inside the workspace, breadth first; dev-dependencies only for the
    // crate being compiled (tests and examples use them), not for its dependencies.
    let mut seen: HashSet<PathBuf> = HashSet::from([manifest_dir.clone()]);
    let mut queue: Vec<(PathBuf, Option<toml::Table>, bool)> =
        vec![(manifest_dir.clone(), manifest.clone(), true)];
    while let Some((dir, manifest, is_main)) = queue.pop() {
        let Some(manifest) = manifest else { continue };
        for dep_dir in path_dependencies(
            &dir,
            &manifest,
            &workspace_root,
            workspace.as_ref(),
            is_main,
        ) {
            let dep_dir = canonical(&dep_dir);
            if !dep_dir.starts_with(&workspace_root) || !seen.insert(dep_dir.clone()) {
                continue;
            }
            let dep_manifest = read_toml(&dep_dir.join("Cargo.toml"));
            stamps.push(Stamp::of(&dep_dir.join("Cargo.toml")));
            let Some(m) = &dep_manifest else { continue };
            let lib_name = m
                .get("lib")
                .and_then(|l| l.get("name"))
                .and_then(|n| n.as_str())
                .or_else(|| {
                    m.get("package")
                        .and_then(|p| p.get("name"))
                        .and_then(|n| n.as_str())
                })
                .unwrap_or("dep")
                .replace('-', "_");
            let mut roots = vec![dep_dir.join("src/lib.rs")];
            if let Some(lib) = lib_path(m) {
                roots.push(dep_dir.join(lib));
            }
            crates.push(CrateSources {
                name: lib_name,
                roots,
                dirs: vec![dep_dir.join("src")],
            });
            queue.push((dep_dir, dep_manifest, false));
        }
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
    Plan {
        crates,
        workspace_root,
        package,
        stamps,
        locked_deps,
    }
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
        let plan = plan(&root.join("app"), vec![root.join("app/src/main.rs")], "app");
        let names: Vec<&str> = plan.crates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app", "lib_a", "bee"]);
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
