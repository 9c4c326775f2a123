//! The command line (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Inspect, verify, clean and explain a checkpointer cache.
///
/// The storage is what the library would use: `--storage`, else `CHECKPOINTER_STORAGE`, else
/// `checkpointer.toml` (searched from the current directory upward), else the fs store in
/// `--dir` / `CHECKPOINTER_DIR` / the user cache directory.
#[derive(Debug, Parser)]
#[command(name = "checkpointer", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Storage spec: `fs`, `memory`, `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix`, `ro:SPEC`, or tiers joined by commas.
    #[arg(long, global = true, value_name = "SPEC")]
    pub storage: Option<String>,
    /// Base directory of the fs store.
    #[arg(long, global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Functions, their identity versions (current or invalidated), entries, sizes and ages.
    Ls {
        /// Only this function (a name as written in code, or an unambiguous prefix).
        function: Option<String>,
    },
    /// Totals, and entries and bytes per function.
    Stats,
    /// A function's entries, or one entry's metadata given a call hash prefix.
    Show {
        /// The function: `square`, `app::features::embed`, `Model.predict`, or a prefix.
        function: String,
        /// A prefix of the entry's call hash (as `show <fn>` lists them).
        call: Option<String>,
    },
    /// Checks every entry's checksum; exits with 1 naming each damaged entry.
    Verify {
        /// Only this function.
        function: Option<String>,
    },
    /// Removes the entries of invalidated identity versions (and, with `--expired-after`,
    /// entries older than that).
    Cleanup {
        /// Also remove entries created longer ago than this (`30d`, `12h`).
        #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
        expired_after: Option<std::time::Duration>,
        /// Only report what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Removes entries unused for longer than `--older-than`, then least recently used ones
    /// until the cache fits `--max-size`.
    Prune {
        /// Remove entries not used for longer than this (`30d`, `12h`).
        #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
        older_than: Option<std::time::Duration>,
        /// Keep at most this much (`10GiB`, `500MB`).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<bytesize::ByteSize>,
        /// Only report what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Only this function's entries.
        #[arg(long, value_name = "FN")]
        function: Option<String>,
    },
    /// Removes every entry of a function (all identity versions).
    Rm {
        /// The function (an exact name or unambiguous prefix).
        function: String,
    },
    /// Nested cached calls as a tree: which cached calls were computed inside which.
    Graph {
        /// Only trees that contain this function.
        function: Option<String>,
    },
    /// What changed between two identity versions of a function: items added, removed, changed.
    Why {
        /// The function.
        function: String,
        /// The older version (an identity hash prefix); default: the second newest.
        old: Option<String>,
        /// The newer version (an identity hash prefix); default: the newest.
        new: Option<String>,
    },
}
