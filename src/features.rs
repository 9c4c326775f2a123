//! The Cargo features this build of the facade has, for code `#[checkpoint]` generates: a
//! literal `storage = "…"` invokes `__checkpointer_requires_<feature>!()` for each tier, which
//! is empty when the feature is on and a compile error at the spec naming the feature when it
//! is off. (The macro crate cannot see the facade's features; the facade's own cfg can.)

/// One `__checkpointer_requires_<feature>!` per feature: empty when on, an error when off.
macro_rules! requires {
    ($on:meta, $name:ident, $message:literal) => {
        #[cfg($on)]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
            () => {};
        }
        #[cfg(not($on))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! $name {
            () => {
                compile_error!($message)
            };
        }
    };
}

requires!(
    feature = "fs",
    __checkpointer_requires_fs,
    "storage \"fs\" needs checkpointer's `fs` feature (on by default): checkpointer = { version = \"0.1\", features = [\"fs\"] }"
);
requires!(
    feature = "mem",
    __checkpointer_requires_mem,
    "storage \"memory\" needs checkpointer's `mem` feature (on by default): checkpointer = { version = \"0.1\", features = [\"mem\"] }"
);
requires!(
    feature = "s3",
    __checkpointer_requires_s3,
    "storage \"s3://…\" needs checkpointer's `s3` feature: checkpointer = { version = \"0.1\", features = [\"s3\"] }"
);
requires!(
    feature = "gcs",
    __checkpointer_requires_gcs,
    "storage \"gs://…\" needs checkpointer's `gcs` feature: checkpointer = { version = \"0.1\", features = [\"gcs\"] }"
);
requires!(
    feature = "azure",
    __checkpointer_requires_azure,
    "storage \"az://…\" or \"abfs://…\" needs checkpointer's `azure` feature: checkpointer = { version = \"0.1\", features = [\"azure\"] }"
);

requires!(
    feature = "mmap",
    __checkpointer_requires_mmap,
    "storage \"mmap\" needs checkpointer's `mmap` feature: checkpointer = { version = \"0.1\", features = [\"mmap\"] }"
);
