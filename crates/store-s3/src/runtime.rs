//! The store's own I/O runtime: one multi-threaded tokio runtime per process, created on
//! first use, on which every S3 operation runs.
//!
//! Callers await a `JoinHandle`, which is an ordinary future woken by tokio from another
//! thread, so it completes under any executor: tokio (current-thread or multi-thread, even
//! nested inside another runtime), a non-tokio executor, or the core's thread-parking
//! `block_on`. The runtime lives for the whole process and is never dropped, so dropping a
//! store from inside async code cannot panic the way dropping a `Runtime` there would.

use crate::S3Error;
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::{Handle, Runtime};

/// The name of the runtime's threads.
pub(crate) const THREAD_NAME: &str = "checkpointer-s3";

fn runtime() -> Result<&'static Runtime, S3Error> {
    static RT: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 4);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(THREAD_NAME)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    rt.as_ref().map_err(|e| S3Error::Runtime(e.clone()))
}

/// A handle to the store's runtime (for spawning background work such as lease renewal).
pub(crate) fn handle() -> Result<Handle, S3Error> {
    Ok(runtime()?.handle().clone())
}

/// Runs `fut` on the store's runtime and waits for it from whatever executor polls this.
pub(crate) async fn run<T, F>(fut: F) -> Result<T, S3Error>
where
    T: Send + 'static,
    F: Future<Output = Result<T, S3Error>> + Send + 'static,
{
    let task = runtime()?.spawn(fut);
    match task.await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(S3Error::Task(format!("the S3 task panicked: {e}"))),
        Err(e) => Err(S3Error::Task(e.to_string())),
    }
}
