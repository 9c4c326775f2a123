//! Build-time facts the macro needs:
//! - `CHECKPOINTER_MACROS_HOST`: the target this macro crate is built for — the host, which
//!   is what a native build (one that passes rustc no `--target`) compiles user code for;
//! - `CHECKPOINTER_MACROS_SOURCE`: a digest of this crate's own sources, so file indexes
//!   cached on disk by an older version of the indexer are never reused.

use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=CHECKPOINTER_MACROS_HOST={target}");

    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in &files {
        f.hash(&mut h);
        std::fs::read(f).unwrap_or_default().hash(&mut h);
    }
    println!(
        "cargo:rustc-env=CHECKPOINTER_MACROS_SOURCE={:016x}",
        h.finish()
    );
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=build.rs");
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}
