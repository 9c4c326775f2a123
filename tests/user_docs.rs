//! A user's library documents its own API, not ours: the companions `#[checkpoint]` generates
//! (the `square` type of a free function, the `area_*` functions of a method) stay callable
//! but are hidden from the user's rustdoc. A scratch library crate using the facade by path is
//! built and documented with cargo, into the target directory the scratch builds share.

mod scratch_support;

use scratch_support::{clean_env, new_package, shared_target, write};
use std::path::Path;
use std::process::Command;

const LIB: &str = r#"//! A library with cached functions.
#![deny(missing_docs)]

use checkpointer::{checkpoint, ObjectHash};

/// Squares a number, remembering the result.
#[checkpoint(storage = "memory")]
pub fn square(x: u64) -> u64 {
    x * x
}

/// A circle.
#[derive(ObjectHash)]
pub struct Circle {
    /// Its radius.
    pub r: u32,
}

impl Circle {
    /// Its area, remembered.
    #[checkpoint(storage = "memory")]
    pub fn area(&self) -> f64 {
        3.0 * f64::from(self.r * self.r)
    }
}

/// The companions stay callable from the user's code.
pub fn companions_work() -> bool {
    let c = Circle { r: 2 };
    c.area();
    square(3);
    square::get(3).is_ok() && c.area_exists().unwrap_or(false) && !Circle::area_handle().identity().to_hex().is_empty()
}
"#;

fn cargo(pkg: &Path, args: &[&str]) -> std::process::Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .args(["--offline", "--quiet", "--color=never"])
        .current_dir(pkg)
        .env("CARGO_TARGET_DIR", shared_target())
        .env_remove("RUSTDOCFLAGS");
    clean_env(&mut cmd);
    cmd.output().expect("run cargo")
}

#[test]
fn generated_companions_are_callable_but_not_in_the_users_docs() {
    let pkg = new_package("user-docs-ws", "user_docs");
    write(&pkg.join("src/lib.rs"), LIB);

    // `deny(missing_docs)` holds with hidden companions, and they resolve and type-check.
    let out = cargo(&pkg, &["build", "--lib"]);
    assert!(
        out.status.success(),
        "the library must build\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cargo(&pkg, &["doc", "--no-deps", "--lib"]);
    assert!(
        out.status.success(),
        "the docs must build\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let doc = shared_target().join("doc/user_docs");
    assert!(
        doc.join("fn.square.html").exists(),
        "the function is documented"
    );
    assert!(
        !doc.join("enum.square.html").exists(),
        "the companion type `square` is hidden"
    );
    let circle = std::fs::read_to_string(doc.join("struct.Circle.html")).expect("Circle's page");
    assert!(circle.contains("method.area"), "the method is documented");
    for companion in [
        "area_rerun",
        "area_uncached",
        "area_get",
        "area_get_or",
        "area_exists",
        "area_delete",
        "area_set",
        "area_call_hash",
        "area_reinit",
        "area_handle",
    ] {
        assert!(
            !circle.contains(&format!("method.{companion}")),
            "{companion} is hidden from Circle's page"
        );
    }
    let all = std::fs::read_to_string(doc.join("all.html")).expect("the item list");
    assert!(
        !all.contains("enum.square"),
        "no companion type in the item list"
    );
}
