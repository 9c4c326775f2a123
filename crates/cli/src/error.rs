//! The command's one error type: every failure is one line on stderr and exit status 2.

use checkpointer::CheckpointError;

/// What stopped a subcommand.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The cache or its configuration failed.
    #[error(transparent)]
    Cache(#[from] CheckpointError),
    /// No cached function matches the name given.
    #[error("no cached function matches {0:?} (`checkpointer ls` lists them)")]
    NoFunction(String),
    /// Several functions match the name given.
    #[error("{query:?} is ambiguous: it matches {}", .matches.join(", "))]
    Ambiguous {
        /// What was given.
        query: String,
        /// What it matches.
        matches: Vec<String>,
    },
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}
