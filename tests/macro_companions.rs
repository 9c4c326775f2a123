//! `#[checkpoint]` end to end: every companion of a free function and of a method, the
//! `Result`/`Option` rules, parameter attributes, captures, `env`, `files`, `when`,
//! generics, and async under tokio and under another executor.

use checkpointer::{checkpoint, CheckpointError, Hasher, ObjectHash};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::LazyLock;

/// Counts how many times a body ran: computed (+1) versus remembered (+0).
struct Runs(AtomicUsize);

impl Runs {
    const fn new() -> Self {
        Runs(AtomicUsize::new(0))
    }
    fn hit(&self) {
        self.0.fetch_add(1, SeqCst);
    }
    fn get(&self) -> usize {
        self.0.load(SeqCst)
    }
}

// ---------------------------------------------------------------------------------------
// A free function: every companion.

static SQUARE_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0)]
fn square(x: u64) -> u64 {
    SQUARE_RUNS.hit();
    x * x
}

#[test]
fn free_function_companions() {
    assert_eq!(square(3), 9);
    assert_eq!(SQUARE_RUNS.get(), 1);
    assert_eq!(square(3), 9, "remembered");
    assert_eq!(SQUARE_RUNS.get(), 1);

    assert!(square::exists(3).unwrap());
    assert!(!square::exists(4).unwrap());
    assert_eq!(square::get(3).unwrap(), 9);
    assert!(matches!(
        square::get(4),
        Err(CheckpointError::NotCached { .. })
    ));
    assert_eq!(square::get_or(0, 4), 0);
    assert_eq!(square::get_or(0, 3), 9);

    assert_eq!(square::rerun(3), 9);
    assert_eq!(SQUARE_RUNS.get(), 2, "rerun runs");
    assert_eq!(square::uncached(7), 49);
    assert_eq!(SQUARE_RUNS.get(), 3, "uncached runs");
    assert!(!square::exists(7).unwrap(), "uncached stores nothing");

    square::set(100, 5).unwrap();
    assert_eq!(square(5), 100, "set stores without running");
    assert_eq!(SQUARE_RUNS.get(), 3);
    assert!(square::delete(5).unwrap());
    assert!(!square::exists(5).unwrap());
    assert!(!square::delete(5).unwrap(), "nothing left to delete");
    assert_eq!(square(5), 25);
    assert_eq!(SQUARE_RUNS.get(), 4);

    assert_eq!(square::call_hash(3), square::call_hash(3));
    assert_ne!(square::call_hash(3), square::call_hash(4));
    let handle = square::handle();
    assert_eq!(handle.identity().to_hex().len(), 64);
    assert_eq!(handle.path().to_string(), "macro_companions::square");
    assert!(
        handle
            .identity_items()
            .iter()
            .any(|(item, _)| item.ends_with("square")),
        "{:?}",
        handle.identity_items()
    );

    square::reinit();
    assert_eq!(square(3), 9, "reinit keeps the entries");
    assert_eq!(SQUARE_RUNS.get(), 4);
}

// ---------------------------------------------------------------------------------------
// Methods: every companion, receivers of each kind, and two types with one method name.

#[derive(ObjectHash, Clone, Debug)]
struct Circle {
    r: u32,
}

#[derive(ObjectHash, Clone, Debug)]
struct Square {
    r: u32,
}

static AREA_RUNS: Runs = Runs::new();
static SIDE_RUNS: Runs = Runs::new();

impl Circle {
    /// The area times `scale`.
    #[checkpoint(storage = "memory", verbosity = 0)]
    fn area(&self, scale: u64) -> u64 {
        AREA_RUNS.hit();
        3 * u64::from(self.r) * u64::from(self.r) * scale
    }

    #[checkpoint(storage = "memory", verbosity = 0)]
    fn grow(&mut self, by: u32) -> u32 {
        self.r += by;
        self.r
    }

    #[checkpoint(storage = "memory", verbosity = 0)]
    fn into_radius(self) -> u32 {
        self.r
    }

    const STEP: u32 = 1;

    /// No receiver, but it names `Self`: an associated function with method-style companions.
    #[checkpoint(storage = "memory", verbosity = 0)]
    fn unit(r: u32) -> u32 {
        r + Self::STEP
    }
}

impl Square {
    #[checkpoint(storage = "memory", verbosity = 0)]
    fn area(&self, scale: u64) -> u64 {
        SIDE_RUNS.hit();
        u64::from(self.r) * u64::from(self.r) * scale
    }
}

#[test]
fn method_companions() {
    let c = Circle { r: 2 };
    assert_eq!(c.area(1), 12);
    assert_eq!(c.area(1), 12);
    assert_eq!(AREA_RUNS.get(), 1);
    assert!(c.area_exists(1).unwrap());
    assert!(!c.area_exists(2).unwrap());
    assert!(
        !Circle { r: 3 }.area_exists(1).unwrap(),
        "the receiver is hashed"
    );
    assert_eq!(c.area_get(1).unwrap(), 12);
    assert!(matches!(
        c.area_get(2),
        Err(CheckpointError::NotCached { .. })
    ));
    assert_eq!(c.area_get_or(0, 2), 0);
    assert_eq!(c.area_rerun(1), 12);
    assert_eq!(AREA_RUNS.get(), 2);
    assert_eq!(c.area_uncached(5), 60);
    assert_eq!(AREA_RUNS.get(), 3);
    c.area_set(7, 9).unwrap();
    assert_eq!(c.area(9), 7);
    assert!(c.area_delete(9).unwrap());
    assert!(!c.area_exists(9).unwrap());
    assert_ne!(c.area_call_hash(1), c.area_call_hash(2));
    assert_ne!(c.area_call_hash(1), Circle { r: 1 }.area_call_hash(1));
    let handle = Circle::area_handle();
    assert_eq!(handle.path().to_string(), "macro_companions::Circle.area");
    Circle::area_reinit();
    assert_eq!(c.area(1), 12);
    assert_eq!(AREA_RUNS.get(), 3);

    // Same method name, same field values, other type: its own entries.
    let s = Square { r: 2 };
    assert_ne!(s.area_call_hash(1), c.area_call_hash(1));
    assert!(!s.area_exists(1).unwrap());
    assert_eq!(s.area(1), 4);
    assert_eq!(SIDE_RUNS.get(), 1);
    assert_eq!(
        Square::area_handle().path().to_string(),
        "macro_companions::Square.area"
    );
}

#[test]
fn method_receivers() {
    let mut c = Circle { r: 10 };
    assert_eq!(c.grow(1), 11);
    assert_eq!(c.r, 11);
    // The key is taken before the body runs: `Circle { r: 10 }` grown by 1 is remembered.
    let mut again = Circle { r: 10 };
    assert_eq!(again.grow(1), 11);
    assert_eq!(again.r, 10, "remembered: the body did not run");
    assert!(again.grow_exists(1).unwrap());
    assert_eq!(again.grow_rerun(1), 11);
    assert_eq!(again.r, 11);

    assert_eq!(Circle { r: 4 }.into_radius(), 4);
    assert!(Circle { r: 4 }.into_radius_exists().unwrap());
    assert_eq!(Circle { r: 4 }.into_radius_get().unwrap(), 4);
    assert_eq!(Circle { r: 5 }.into_radius_uncached(), 5);

    assert_eq!(Circle::unit(1), 2);
    assert!(Circle::unit_exists(1).unwrap());
    assert_eq!(Circle::unit_get(1).unwrap(), 2);
}

// ---------------------------------------------------------------------------------------
// The Result and Option rules.

static PARSE_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0)]
fn parse_num(text: &str) -> Result<u32, String> {
    PARSE_RUNS.hit();
    text.parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())
}

#[test]
fn result_caches_only_ok() {
    assert!(parse_num("x").is_err());
    assert!(parse_num("x").is_err());
    assert_eq!(PARSE_RUNS.get(), 2, "errors are not cached");
    assert!(!parse_num::exists("x").unwrap());
    assert_eq!(parse_num("5"), Ok(5));
    assert_eq!(parse_num("5"), Ok(5));
    assert_eq!(PARSE_RUNS.get(), 3);
    assert_eq!(
        parse_num::get("5").unwrap(),
        5,
        "the stored type is the Ok type"
    );
    parse_num::set(8, "eight").unwrap();
    assert_eq!(parse_num("eight"), Ok(8));
    assert_eq!(
        parse_num::rerun("eight"),
        Err("invalid digit found in string".to_string())
    );
    assert_eq!(parse_num("eight"), Ok(8), "a failed rerun keeps the entry");
}

static FIND_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0)]
fn find(haystack: &[u32], needle: u32) -> Option<usize> {
    FIND_RUNS.hit();
    haystack.iter().position(|x| *x == needle)
}

#[test]
fn option_caches_none() {
    assert_eq!(find(&[1, 2, 3], 9), None);
    assert_eq!(find(&[1, 2, 3], 9), None);
    assert_eq!(FIND_RUNS.get(), 1, "None is cached");
    assert_eq!(find::get(&[1, 2, 3], 9).unwrap(), None);
    assert_eq!(find(&[1, 2, 3], 2), Some(1));
    assert_eq!(
        find(&Vec::from([1, 2, 3]), 2),
        Some(1),
        "a slice hashes its elements, whatever owns them"
    );
    assert_eq!(FIND_RUNS.get(), 2);
}

// ---------------------------------------------------------------------------------------
// Parameter attributes, reference parameters and patterns.

static SCALED_RUNS: Runs = Runs::new();

fn milli(x: &f64) -> i64 {
    (x * 1000.0).round() as i64
}

#[derive(ObjectHash)]
struct Config {
    name: String,
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn scaled(
    config: &Config,
    #[no_hash] log: &mut Vec<String>,
    #[hash_by(milli)] factor: f64,
    (a, b): (u32, u32),
) -> f64 {
    SCALED_RUNS.hit();
    log.push(config.name.clone());
    factor * f64::from(a + b)
}

#[test]
fn no_hash_hash_by_and_patterns() {
    let config = Config { name: "c".into() };
    let mut log = Vec::new();
    assert_eq!(scaled(&config, &mut log, 1.0, (1, 2)), 3.0);
    let mut other_log = vec!["something".to_string()];
    assert_eq!(
        scaled(&config, &mut other_log, 1.0001, (1, 2)),
        3.0,
        "log is not hashed; factor is hashed by milli"
    );
    assert_eq!(SCALED_RUNS.get(), 1);
    assert_eq!(log, ["c"]);
    assert_eq!(scaled(&config, &mut log, 1.5, (1, 2)), 4.5);
    assert_eq!(
        scaled(&Config { name: "d".into() }, &mut log, 1.5, (1, 2)),
        4.5
    );
    assert_eq!(scaled(&config, &mut log, 1.5, (2, 1)), 4.5);
    assert_eq!(SCALED_RUNS.get(), 4);
    assert_eq!(
        scaled::call_hash(&config, &mut Vec::new(), 1.5, (2, 1)),
        scaled::call_hash(&config, &mut log, 1.5, (2, 1))
    );
}

// ---------------------------------------------------------------------------------------
// capture, capture_once, env, files.

/// A tunable global whose value can change between calls.
struct Knob(AtomicU32);

impl ObjectHash for Knob {
    fn object_hash(&self, h: &mut Hasher) {
        self.0.load(SeqCst).object_hash(h);
    }
}

static KNOB: Knob = Knob(AtomicU32::new(1));
static ONCE_KNOB: Knob = Knob(AtomicU32::new(1));
const LIMIT: u32 = 10;

#[checkpoint(storage = "memory", verbosity = 0, capture(KNOB, LIMIT))]
fn with_capture(x: u32) -> u32 {
    x * KNOB.0.load(SeqCst) + LIMIT
}

#[checkpoint(storage = "memory", verbosity = 0, capture_once(ONCE_KNOB))]
fn with_capture_once(x: u32) -> u32 {
    x * ONCE_KNOB.0.load(SeqCst)
}

#[test]
fn capture_is_hashed_every_call_and_capture_once_once() {
    assert_eq!(with_capture(2), 12);
    KNOB.0.store(3, SeqCst);
    assert_eq!(with_capture(2), 16, "a changed capture is a new key");
    KNOB.0.store(1, SeqCst);
    assert_eq!(with_capture(2), 12);

    assert_eq!(with_capture_once(2), 2);
    ONCE_KNOB.0.store(5, SeqCst);
    assert_eq!(with_capture_once(2), 2, "capture_once was read once");
    with_capture_once::reinit();
    assert_eq!(with_capture_once(2), 10, "reinit reads it again");
}

const ENV_VAR: &str = "CHECKPOINTER_MACRO_TEST_ENV";
static ENV_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0, env("CHECKPOINTER_MACRO_TEST_ENV"))]
fn with_env(x: u32) -> u32 {
    ENV_RUNS.hit();
    x + std::env::var(ENV_VAR).map(|v| v.len() as u32).unwrap_or(0)
}

#[test]
fn env_is_hashed() {
    std::env::set_var(ENV_VAR, "a");
    assert_eq!(with_env(1), 2);
    assert_eq!(with_env(1), 2);
    assert_eq!(ENV_RUNS.get(), 1);
    std::env::set_var(ENV_VAR, "abc");
    assert_eq!(with_env(1), 4, "a changed variable is a new key");
    std::env::remove_var(ENV_VAR);
    assert_eq!(with_env(1), 1);
    assert_eq!(ENV_RUNS.get(), 3);
}

const INPUT_FILE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/macro_companions_input.txt");
static FILE_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0, files(concat!(env!("CARGO_TARGET_TMPDIR"), "/macro_companions_input.txt")))]
fn with_file() -> usize {
    FILE_RUNS.hit();
    std::fs::read(INPUT_FILE).map(|b| b.len()).unwrap_or(0)
}

#[test]
fn files_are_hashed() {
    std::fs::write(INPUT_FILE, "abc").unwrap();
    assert_eq!(with_file(), 3);
    assert_eq!(with_file(), 3);
    assert_eq!(FILE_RUNS.get(), 1);
    std::fs::write(INPUT_FILE, "abcdefg").unwrap();
    assert_eq!(with_file(), 7, "changed contents are a new key");
    assert_eq!(FILE_RUNS.get(), 2);
}

// ---------------------------------------------------------------------------------------
// when, generics, the fs store.

static WHEN_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0, when = false)]
fn never_cached(x: u32) -> u32 {
    WHEN_RUNS.hit();
    x
}

static BIG_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0, when = x >= 10)]
fn only_big(x: u32) -> u32 {
    BIG_RUNS.hit();
    x
}

#[test]
fn when_false_runs_every_time() {
    assert_eq!(never_cached(1), 1);
    assert_eq!(never_cached(1), 1);
    assert_eq!(WHEN_RUNS.get(), 2);
    assert!(!never_cached::exists(1).unwrap());

    only_big(1);
    only_big(1);
    assert_eq!(BIG_RUNS.get(), 2, "when reads the arguments");
    only_big(10);
    only_big(10);
    assert_eq!(BIG_RUNS.get(), 3);
}

static DESCRIBE_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0)]
fn describe<T: ObjectHash + std::fmt::Debug>(x: T) -> String {
    DESCRIBE_RUNS.hit();
    format!("{x:?}")
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn make<T: Default + serde::Serialize + serde::de::DeserializeOwned, const N: usize>() -> Vec<T> {
    (0..N).map(|_| T::default()).collect()
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn shown(x: impl std::fmt::Display + ObjectHash) -> String {
    x.to_string()
}

#[test]
fn generic_functions() {
    assert_eq!(describe(1u8), "1");
    assert_eq!(describe(1u8), "1");
    assert_eq!(DESCRIBE_RUNS.get(), 1);
    assert_eq!(describe(1u16), "1");
    assert_eq!(
        DESCRIBE_RUNS.get(),
        2,
        "another type argument is another key"
    );
    assert_ne!(describe::call_hash(1u8), describe::call_hash(1u16));
    assert_eq!(describe::get("a").ok(), None);

    assert_eq!(make::<u8, 2>(), vec![0, 0]);
    assert_eq!(make::<u8, 3>(), vec![0, 0, 0]);
    assert!(make::exists::<u8, 3>().unwrap());
    assert!(!make::exists::<u16, 3>().unwrap());

    assert_eq!(shown(5u8), "5");
    assert!(shown::exists(5u8).unwrap());
    assert!(!shown::exists(5u16).unwrap());
}

static DIR: LazyLock<tempfile::TempDir> =
    LazyLock::new(|| tempfile::tempdir().expect("a temporary directory"));

#[checkpoint(storage = "fs", directory = DIR.path(), verbosity = 0)]
fn on_disk(n: u32) -> Vec<u32> {
    (0..n).collect()
}

fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn fs_store_in_the_given_directory() {
    assert_eq!(on_disk(3), vec![0, 1, 2]);
    assert!(on_disk::exists(3).unwrap());
    let files = files_under(DIR.path());
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().contains("on_disk")),
        "{files:?}"
    );
    on_disk::set(vec![9], 1).unwrap();
    assert_eq!(on_disk(1), vec![9]);
    assert!(on_disk::delete(1).unwrap());
    assert_eq!(on_disk::handle().clear().unwrap(), 1);
    assert!(!on_disk::exists(3).unwrap());
}

// ---------------------------------------------------------------------------------------
// async under tokio and under futures-executor; sync inside a tokio runtime.

static DOUBLE_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0)]
async fn double(x: u32) -> u32 {
    DOUBLE_RUNS.hit();
    tokio::task::yield_now().await;
    x * 2
}

#[tokio::test]
async fn async_under_tokio() {
    assert_eq!(double(2).await, 4);
    assert_eq!(double(2).await, 4);
    assert_eq!(DOUBLE_RUNS.get(), 1);
    assert!(double::exists(2).await.unwrap());
    assert_eq!(double::get(2).await.unwrap(), 4);
    assert_eq!(double::get_or(0, 3).await, 0);
    assert_eq!(double::rerun(2).await, 4);
    assert_eq!(double::uncached(2).await, 4);
    assert_eq!(DOUBLE_RUNS.get(), 3);
    double::set(5, 9).await.unwrap();
    assert_eq!(double(9).await, 5);
    assert!(double::delete(9).await.unwrap());
    assert_eq!(double::call_hash(2), double::call_hash(2));
}

static TRIPLE_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory", verbosity = 0)]
async fn triple(x: u32) -> Result<u32, String> {
    TRIPLE_RUNS.hit();
    std::future::ready(()).await;
    Ok(x * 3)
}

#[test]
fn async_under_futures_executor() {
    futures_executor::block_on(async {
        assert_eq!(triple(2).await, Ok(6));
        assert_eq!(triple(2).await, Ok(6));
        assert_eq!(TRIPLE_RUNS.get(), 1);
        assert_eq!(triple::get(2).await.unwrap(), 6);
    });
}

static IN_RT_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory,fs", directory = DIR.path(), verbosity = 0)]
fn sync_in_runtime(x: u32) -> u32 {
    IN_RT_RUNS.hit();
    x + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_cached_fn_inside_tokio_multi_thread() {
    assert_eq!(sync_in_runtime(1), 2);
    assert_eq!(sync_in_runtime(1), 2);
    assert_eq!(IN_RT_RUNS.get(), 1);
}

static IN_CURRENT_RUNS: Runs = Runs::new();

#[checkpoint(storage = "memory,fs", directory = DIR.path(), verbosity = 0)]
fn sync_in_current_thread(x: u32) -> u32 {
    IN_CURRENT_RUNS.hit();
    x + 1
}

#[tokio::test(flavor = "current_thread")]
async fn sync_cached_fn_inside_tokio_current_thread() {
    assert_eq!(sync_in_current_thread(2), 3);
    assert_eq!(sync_in_current_thread(2), 3);
    assert_eq!(IN_CURRENT_RUNS.get(), 1);
}

// ---------------------------------------------------------------------------------------
// Inside a function body (a main, a test, a doctest): companions see the block's items.

#[test]
fn inside_a_function_body() {
    static LOCAL_RUNS: Runs = Runs::new();

    fn helper(x: u32) -> u32 {
        x + 1
    }

    #[checkpoint(storage = "memory", verbosity = 0)]
    fn local(x: u32) -> u32 {
        LOCAL_RUNS.hit();
        helper(x)
    }

    assert_eq!(local(1), 2);
    assert_eq!(local(1), 2);
    assert_eq!(LOCAL_RUNS.get(), 1);
    assert_eq!(local::get(1).unwrap(), 2);
    assert_eq!(local::uncached(1), 2);
    assert_eq!(
        local::handle().path().to_string(),
        "macro_companions::local"
    );
}

// ---------------------------------------------------------------------------------------
// Async methods, boxed receivers and generic impls.

#[derive(ObjectHash)]
struct Boxed<T> {
    items: Vec<T>,
}

static SUM_RUNS: Runs = Runs::new();

impl<T: ObjectHash + Copy + Into<u64>> Boxed<T> {
    #[checkpoint(storage = "memory", verbosity = 0)]
    async fn sum(&self) -> u64 {
        SUM_RUNS.hit();
        self.items.iter().map(|x| (*x).into()).sum()
    }

    // The point is a `Box<Self>` receiver, whatever clippy thinks of it.
    #[allow(clippy::boxed_local)]
    #[checkpoint(storage = "memory", verbosity = 0)]
    fn count(self: Box<Self>) -> usize {
        self.items.len()
    }
}

#[tokio::test]
async fn async_methods_and_generic_impls() {
    let a = Boxed {
        items: vec![1u8, 2],
    };
    let b = Boxed {
        items: vec![1u16, 2],
    };
    assert_eq!(a.sum().await, 3);
    assert_eq!(a.sum().await, 3);
    assert_eq!(SUM_RUNS.get(), 1);
    assert!(a.sum_exists().await.unwrap());
    assert!(
        !b.sum_exists().await.unwrap(),
        "another instantiation is another key"
    );
    assert_eq!(b.sum().await, 3);
    assert_eq!(SUM_RUNS.get(), 2);
    assert_eq!(a.sum_get().await.unwrap(), 3);
    assert_eq!(
        Boxed::<u8>::sum_handle().path().to_string(),
        "macro_companions::Boxed.sum"
    );

    assert_eq!(Box::new(Boxed { items: vec![1u8] }).count(), 1);
    assert!(Boxed { items: vec![1u8] }.count_exists().unwrap());
}

/// An associated function with neither `self` nor `Self`: still in an impl, so its
/// companions are associated functions named after it.
struct Factory;

static BUILD_RUNS: Runs = Runs::new();

impl Factory {
    #[checkpoint(storage = "memory", verbosity = 0)]
    fn build(k: u32) -> u64 {
        BUILD_RUNS.hit();
        u64::from(k) * 3
    }
}

#[test]
fn associated_function_without_self() {
    assert_eq!(Factory::build(5), 15);
    assert_eq!(Factory::build(5), 15);
    assert_eq!(BUILD_RUNS.get(), 1);
    assert_eq!(Factory::build_get(5).unwrap(), 15);
    assert!(Factory::build_exists(5).unwrap());
    assert!(!Factory::build_exists(6).unwrap());
    assert!(Factory::build_delete(5).unwrap());
    assert_eq!(Factory::build_rerun(5), 15);
    assert_eq!(BUILD_RUNS.get(), 2);
    assert!(Factory::build_handle()
        .path()
        .name
        .ends_with("Factory.build"));
}

static TRIMS: AtomicUsize = AtomicUsize::new(0);

#[derive(ObjectHash)]
struct Label(String);

impl Label {
    /// A lifetime in the return type: cached like any value, and a hit decodes an owned copy.
    /// (An elided one, `Cow<'_, str>`, is not supported: `get_or`'s `default` would take a
    /// lifetime of its own.)
    #[checkpoint(storage = "memory", verbosity = 0)]
    #[allow(clippy::needless_lifetimes)]
    fn trimmed<'a>(&'a self) -> std::borrow::Cow<'a, str> {
        TRIMS.fetch_add(1, SeqCst);
        std::borrow::Cow::Borrowed(self.0.trim())
    }
}

#[test]
fn a_lifetime_in_the_return_type_is_cached() {
    let label = Label("  a ".into());
    assert_eq!(label.trimmed(), "a");
    let hit = label.trimmed();
    assert_eq!(hit, "a");
    assert!(matches!(hit, std::borrow::Cow::Owned(_)), "decoded");
    assert_eq!(TRIMS.load(SeqCst), 1);
    assert_eq!(label.trimmed_get().unwrap(), "a");
}
