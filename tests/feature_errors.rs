//! A literal storage spec whose tier needs a facade feature the build lacks fails to compile,
//! at the spec, naming the feature to enable. The suite's own build has every feature, so a
//! scratch package depending on the facade with its default features (`fs`, `mem`) is built
//! with cargo, into the target directory the scratch builds share.

mod scratch_support;

use scratch_support::{clean_env, new_package, shared_target, write};
use std::process::Command;

#[test]
fn object_store_specs_without_their_features_name_the_feature_at_the_spec() {
    let pkg = new_package("feature-errors-ws", "feature_errors");
    write(
        &pkg.join("src/main.rs"),
        "use checkpointer::checkpoint;\n\n#[checkpoint(storage = \"memory,s3://bucket/prefix\")]\nfn square(x: u64) -> u64 {\n    x * x\n}\n\n#[checkpoint(storage = \"memory,fs\")]\nfn cube(x: u64) -> u64 {\n    x * x * x\n}\n\n#[checkpoint(storage = \"gs://bucket/prefix\")]\nfn gcs(x: u64) -> u64 {\n    x\n}\n\n#[checkpoint(storage = \"memory,fs,ro:az://container/prefix\")]\nfn azure(x: u64) -> u64 {\n    x\n}\n\nfn main() {\n    println!(\"{} {} {} {}\", square(2), cube(2), gcs(1), azure(1));\n}\n",
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--offline", "--quiet", "--color=never"])
        .current_dir(&pkg)
        .env("CARGO_TARGET_DIR", shared_target());
    clean_env(&mut cmd);
    let out = cmd.output().expect("run cargo build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the build must fail\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(
        errors,
        [
            "error: storage \"s3://…\" needs checkpointer's `s3` feature: checkpointer = { version = \"0.1\", features = [\"s3\"] }",
            "error: storage \"gs://…\" needs checkpointer's `gcs` feature: checkpointer = { version = \"0.1\", features = [\"gcs\"] }",
            "error: storage \"az://…\" or \"abfs://…\" needs checkpointer's `azure` feature: checkpointer = { version = \"0.1\", features = [\"azure\"] }",
            "error: could not compile `feature_errors` (bin \"feature_errors\") due to 3 previous errors",
        ],
        "one error per spec, naming the feature (a `ro:` tier needs its inner tier's); the default tiers compile\n{stderr}"
    );
    for at in ["src/main.rs:3:24", "src/main.rs:13:24", "src/main.rs:18:24"] {
        assert!(
            stderr.contains(at),
            "an error points at the spec, {at}\n{stderr}"
        );
    }
}
