// One error per function, on the cached type, whatever the shape of the return type.
use checkpointer::checkpoint;

#[derive(Debug)]
struct Report;

type Alias = Vec<Report>;

#[checkpoint]
fn optional(x: u64) -> Option<Report> {
    (x > 0).then_some(Report)
}

#[checkpoint]
fn nested(x: u64) -> Result<Vec<Report>, String> {
    Ok((0..x).map(|_| Report).collect())
}

#[checkpoint]
fn aliased(x: u64) -> Alias {
    (0..x).map(|_| Report).collect()
}

#[checkpoint]
async fn fetched(x: u64) -> std::result::Result<(u64, Report), std::io::Error> {
    Ok((x, Report))
}

#[checkpoint]
fn generic<T: Default + Clone>(x: u64) -> Vec<T> {
    vec![T::default(); x as usize]
}

// `impl Trait` arguments beside a type parameter: the codec is still named.
#[checkpoint]
fn mixed<T: Default>(x: impl Into<u64> + checkpointer::ObjectHash) -> (T, u64) {
    (T::default(), x.into())
}

#[derive(checkpointer::ObjectHash)]
struct Service;

impl Service {
    #[checkpoint]
    fn method(&self, x: u64) -> Report {
        let _ = x;
        Report
    }

    #[checkpoint]
    fn itself(x: u64) -> Self {
        let _ = x;
        Service
    }
}

#[derive(Debug)]
struct AppError;

impl From<checkpointer::CheckpointError> for AppError {
    fn from(_: checkpointer::CheckpointError) -> Self {
        AppError
    }
}

#[checkpoint(on_error = "raise")]
fn raised(x: u64) -> Result<Report, AppError> {
    let _ = x;
    Ok(Report)
}

fn main() {}
