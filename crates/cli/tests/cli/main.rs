//! The `checkpointer` binary (assert_cmd) on real caches written by real programs: this test
//! binary re-runs itself as the program (`program::run`), with `#[checkpoint]` functions
//! storing into a temporary directory, an S3 prefix or an Azure one; scratch crates built with cargo give
//! `why` two real builds to compare.

mod azure;
mod fs;
mod mmap;
mod program;
mod s3;
#[path = "../../../../tests/s3_support/mod.rs"]
mod s3_support;
#[path = "../../../../tests/scratch_support/mod.rs"]
mod scratch_support;
mod support;
mod why;
