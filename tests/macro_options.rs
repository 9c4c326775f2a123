//! `#[checkpoint]` options at run time: `using`, `storage` as an expression, `expiry`,
//! `fn_hash_from`, `on_error`, the `Checkpointer::capture()` preset, `deps`, and the
//! visibility of companions.

use checkpointer::backend::MemoryStore;
use checkpointer::{checkpoint, CheckpointError, Checkpointer, Hasher, ObjectHash, OnError};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

// ---------------------------------------------------------------------------------------
// using = PRESET

static TEAM: LazyLock<Checkpointer> = LazyLock::new(|| Checkpointer::memory().verbosity(0));
static PRESET_RUNS: AtomicUsize = AtomicUsize::new(0);

#[checkpoint(using = TEAM)]
fn from_static_preset(x: u32) -> u32 {
    PRESET_RUNS.fetch_add(1, SeqCst);
    x
}

#[checkpoint(using = Checkpointer::memory(), on_error = "ignore")]
fn from_value_preset(x: u32) -> u32 {
    x
}

#[test]
fn presets_supply_the_options() {
    assert_eq!(from_static_preset(1), 1);
    assert_eq!(from_static_preset(1), 1);
    assert_eq!(PRESET_RUNS.load(SeqCst), 1);
    let config = from_static_preset::handle().config().unwrap();
    assert_eq!(config.verbosity, 0);
    assert_eq!(from_value_preset(2), 2);
    let config = from_value_preset::handle().config().unwrap();
    assert_eq!(
        config.on_error,
        OnError::Ignore,
        "options override the preset"
    );
}

// ---------------------------------------------------------------------------------------
// storage = EXPR

#[checkpoint(storage = MemoryStore::default(), verbosity = 0)]
fn own_store(x: u32) -> u32 {
    x + 1
}

#[test]
fn storage_expression() {
    assert_eq!(own_store(1), 2);
    assert!(own_store::exists(1).unwrap());
    // Its own store: the shared "memory" tier does not hold the entry.
    assert_eq!(own_store::handle().clear().unwrap(), 1);
}

// ---------------------------------------------------------------------------------------
// expiry

#[checkpoint(storage = "memory", verbosity = 0, expiry = "30ms")]
fn short_lived(x: u32) -> u32 {
    x
}

static EXPIRE_ALL: AtomicBool = AtomicBool::new(false);

#[checkpoint(storage = "memory", verbosity = 0, expiry = |_created: SystemTime| EXPIRE_ALL.load(SeqCst))]
fn by_predicate(x: u32) -> u32 {
    x
}

#[checkpoint(storage = "memory", verbosity = 0, expiry = Duration::from_secs(3600))]
fn by_duration_value(x: u32) -> u32 {
    x
}

#[test]
fn expiry_by_duration_string_predicate_and_value() {
    short_lived(1);
    assert!(short_lived::exists(1).unwrap());
    std::thread::sleep(Duration::from_millis(60));
    assert!(!short_lived::exists(1).unwrap(), "expired");
    assert!(short_lived::get(1).is_err());

    by_predicate(1);
    assert!(by_predicate::exists(1).unwrap());
    EXPIRE_ALL.store(true, SeqCst);
    assert!(!by_predicate::exists(1).unwrap());

    by_duration_value(1);
    assert!(by_duration_value::exists(1).unwrap());
}

// ---------------------------------------------------------------------------------------
// fn_hash_from

mod v1 {
    use checkpointer::checkpoint;

    #[checkpoint(storage = "memory", verbosity = 0, fn_hash_from = "v1")]
    pub fn versioned(x: u32) -> u32 {
        x + 1
    }

    #[checkpoint(storage = "memory", verbosity = 0)]
    pub fn unversioned(x: u32) -> u32 {
        x + 1
    }
}

mod v1_edited {
    use checkpointer::checkpoint;

    #[checkpoint(storage = "memory", verbosity = 0, fn_hash_from = "v1")]
    pub fn versioned(x: u32) -> u32 {
        x + 100
    }
}

#[test]
fn fn_hash_from_replaces_the_identity() {
    let a = v1::versioned::handle().identity();
    assert_eq!(
        a,
        v1_edited::versioned::handle().identity(),
        "the body changed, the version did not"
    );
    assert_ne!(a, v1::unversioned::handle().identity());
    assert_eq!(
        a,
        Checkpointer::new()
            .fn_hash_from("v1")
            .identity_override()
            .unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// on_error

#[derive(Debug)]
enum AppError {
    Cache(CheckpointError),
}

impl From<CheckpointError> for AppError {
    fn from(e: CheckpointError) -> Self {
        AppError::Cache(e)
    }
}

// `/dev/null` is a file: nothing can be created beneath it, whoever runs the tests.
#[checkpoint(
    storage = "fs",
    directory = "/dev/null/checkpoints",
    verbosity = 0,
    on_error = "raise"
)]
fn raising(x: u32) -> Result<u32, AppError> {
    Ok(x)
}

#[checkpoint(storage = "fs", directory = "/dev/null/checkpoints", verbosity = 0)]
fn warning(x: u32) -> u32 {
    x
}

#[checkpoint(
    storage = "fs",
    directory = "/dev/null/checkpoints",
    on_error = "ignore"
)]
fn ignoring(x: u32) -> Result<u32, AppError> {
    Ok(x)
}

#[cfg(unix)]
#[test]
fn on_error_policies_with_a_broken_store() {
    let Err(AppError::Cache(e)) = raising(1) else {
        panic!("raise returns the cache error")
    };
    assert!(!e.to_string().is_empty());
    assert_eq!(warning(1), 1, "warn computes");
    assert!(matches!(ignoring(1), Ok(1)), "ignore computes");
}

// ---------------------------------------------------------------------------------------
// Checkpointer::capture(): every static and const the body names.

struct Knob(AtomicU32);

impl ObjectHash for Knob {
    fn object_hash(&self, h: &mut Hasher) {
        self.0.load(SeqCst).object_hash(h);
    }
}

static SCALE: Knob = Knob(AtomicU32::new(2));
const OFFSET: u32 = 1;
static CAPTURE_RUNS: AtomicUsize = AtomicUsize::new(0);
static CAPTURING: LazyLock<Checkpointer> =
    LazyLock::new(|| Checkpointer::capture().storage_spec("memory").verbosity(0));

#[checkpoint(using = CAPTURING)]
fn scaled(x: u32) -> u32 {
    // A local SCREAMING_CASE binding is not a capture.
    #[allow(non_snake_case)]
    let LOCAL = 0;
    const INNER: u32 = 0;
    CAPTURE_RUNS.fetch_add(1, SeqCst); // not ObjectHash: skipped
    x * SCALE.0.load(SeqCst) + OFFSET + LOCAL + INNER
}

#[checkpoint(storage = "memory", verbosity = 0)]
fn not_capturing(x: u32) -> u32 {
    x * SCALE.0.load(SeqCst)
}

#[test]
fn capture_preset_hashes_named_statics() {
    assert_eq!(scaled(3), 7);
    assert_eq!(scaled(3), 7);
    assert_eq!(CAPTURE_RUNS.load(SeqCst), 1);
    let before = scaled::call_hash(3);
    SCALE.0.store(3, SeqCst);
    assert_ne!(scaled::call_hash(3), before);
    assert_eq!(scaled(3), 10, "a changed static is a new key");
    assert_eq!(CAPTURE_RUNS.load(SeqCst), 2);

    // Without the preset the probe is compiled but off.
    let h = not_capturing::call_hash(3);
    SCALE.0.store(4, SeqCst);
    assert_eq!(not_capturing::call_hash(3), h);
    SCALE.0.store(2, SeqCst);
}

// ---------------------------------------------------------------------------------------
// deps: part of the identity.

fn helper(x: u32) -> u32 {
    x * 2
}

mod with_deps {
    use checkpointer::checkpoint;

    #[checkpoint(storage = "memory", verbosity = 0, deps(super::helper))]
    pub fn uses_helper(x: u32) -> u32 {
        super::helper(x)
    }
}

mod without_deps {
    use checkpointer::checkpoint;

    #[checkpoint(storage = "memory", verbosity = 0)]
    pub fn uses_helper(x: u32) -> u32 {
        super::helper(x)
    }
}

#[test]
fn deps_join_the_identity() {
    assert_eq!(with_deps::uses_helper(2), 4);
    assert_ne!(
        with_deps::uses_helper::handle().identity(),
        without_deps::uses_helper::handle().identity()
    );
}

// ---------------------------------------------------------------------------------------
// Visibility and paths of companions.

mod outer {
    pub mod inner {
        use checkpointer::{checkpoint, ObjectHash};

        #[derive(ObjectHash)]
        pub struct Local(pub u32);

        #[checkpoint(storage = "memory", verbosity = 0)]
        pub(super) fn for_parent(x: u32) -> u32 {
            x
        }

        #[checkpoint(storage = "memory", verbosity = 0)]
        pub(crate) fn for_crate(x: u32) -> u32 {
            x
        }

        #[checkpoint(storage = "memory", verbosity = 0)]
        pub(in crate::outer) fn for_outer(x: u32) -> u32 {
            x
        }

        /// Private, with `self::` and `super::` paths in its signature.
        #[checkpoint(storage = "memory", verbosity = 0)]
        fn private(x: self::Local, y: super::Wrapper) -> u32 {
            x.0 + y.0
        }

        pub fn private_companions_are_visible_here() -> bool {
            private(Local(1), super::Wrapper(2));
            private::exists(Local(1), super::Wrapper(2)).unwrap()
        }
    }

    #[derive(checkpointer::ObjectHash)]
    pub struct Wrapper(pub u32);

    pub fn parent_sees_pub_super() -> bool {
        inner::for_parent(1);
        inner::for_outer(1);
        inner::for_parent::exists(1).unwrap() && inner::for_outer::exists(1).unwrap()
    }
}

#[test]
fn companions_follow_the_function_visibility() {
    assert!(outer::parent_sees_pub_super());
    assert!(outer::inner::private_companions_are_visible_here());
    assert_eq!(outer::inner::for_crate(3), 3);
    assert!(outer::inner::for_crate::exists(3).unwrap());
}

// ---------------------------------------------------------------------------------------
// unsafe fn

/// # Safety
/// Always safe; `unsafe` only to check the expansion.
#[checkpoint(storage = "memory", verbosity = 0)]
unsafe fn unsafe_identity(x: u32) -> u32 {
    x
}

#[test]
fn unsafe_functions() {
    // SAFETY: `unsafe_identity` has no preconditions.
    unsafe {
        assert_eq!(unsafe_identity(4), 4);
        assert_eq!(unsafe_identity::rerun(4), 4);
        assert_eq!(unsafe_identity::uncached(4), 4);
    }
    assert!(unsafe_identity::exists(4).unwrap());
}
