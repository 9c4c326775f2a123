// Records the target this macro crate is built for: the host, which is what a native build
// (one that passes rustc no `--target`) compiles user code for.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=CHECKPOINTER_MACROS_HOST={target}");
}
