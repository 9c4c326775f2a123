//! Options (`Checkpointer`), presets, and their resolution against the environment and
//! `checkpointer.toml`.
//!
//! Precedence: attribute option (or preset) > environment > `checkpointer.toml` (found from
//! the current directory upward) > built-in default.

mod env;

use crate::{CheckpointError, Digest, IntoStorage, ObjectHash, Storage};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

/// `CHECKPOINTER_DIR`: base directory of the fs and mmap stores.
pub const ENV_DIR: &str = "CHECKPOINTER_DIR";
/// `CHECKPOINTER_STORAGE`: default storage spec.
pub const ENV_STORAGE: &str = "CHECKPOINTER_STORAGE";
/// `CHECKPOINTER_VERBOSITY`: 0, 1 or 2 (anything else warns and the default applies).
pub const ENV_VERBOSITY: &str = "CHECKPOINTER_VERBOSITY";
/// `CHECKPOINTER_DISABLE`: `1`, `true`, `yes` or `on` (any case) makes every checkpoint behave
/// as `when = false`; `0`, `false`, `no`, `off` keep caching; anything else warns.
pub const ENV_DISABLE: &str = "CHECKPOINTER_DISABLE";
/// `CHECKPOINTER_SECRET`: the secret(s) entries are signed and verified with, comma-separated,
/// the signing one first (see [`crate::seal`]).
pub const ENV_SECRET: &str = "CHECKPOINTER_SECRET";
/// `CHECKPOINTER_COMPRESS`: `zstd`, `zstd:LEVEL` or `none` (see [`crate::compress`]).
pub const ENV_COMPRESS: &str = "CHECKPOINTER_COMPRESS";
/// The name of the project configuration file.
pub const CONFIG_FILE: &str = "checkpointer.toml";

/// What to do when the cache itself fails (a storage error, an unencodable value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnError {
    /// Warn on stderr (once per function and operation) and run the function.
    #[default]
    Warn,
    /// Return the error (the function must return `Result<T, E>` with `E: From<CheckpointError>`).
    Raise,
    /// Run the function silently (a `tracing` event is still emitted).
    Ignore,
}

impl std::str::FromStr for OnError {
    type Err = CheckpointError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "warn" => Ok(OnError::Warn),
            "raise" => Ok(OnError::Raise),
            "ignore" => Ok(OnError::Ignore),
            other => Err(CheckpointError::Config(format!(
                "on_error must be \"warn\", \"raise\" or \"ignore\", not {other:?}"
            ))),
        }
    }
}

/// When a stored value stops being valid.
#[derive(Clone)]
pub enum Expiry {
    /// Expires this long after it was computed.
    After(Duration),
    /// Expires when the predicate, given the created time, returns true.
    When(Arc<dyn Fn(SystemTime) -> bool + Send + Sync>),
}

impl Expiry {
    /// Parses a humantime duration such as `"7d"`, `"90s"` or `"1h 30m"`.
    pub fn parse(s: &str) -> Result<Self, CheckpointError> {
        humantime::parse_duration(s)
            .map(Expiry::After)
            .map_err(|e| CheckpointError::Config(format!("expiry {s:?} is not a duration: {e}")))
    }

    /// Whether an entry created at `created` has expired at `now`.
    pub fn is_expired(&self, created: SystemTime, now: SystemTime) -> bool {
        match self {
            // A created time in the future (a skewed clock, a crafted entry) counts by its
            // distance too, so no entry outlives its expiry by claiming to be from later.
            Expiry::After(d) => match now.duration_since(created) {
                Ok(age) => age >= *d,
                Err(ahead) => ahead.duration() >= *d,
            },
            Expiry::When(f) => f(created),
        }
    }
}

impl fmt::Debug for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expiry::After(d) => write!(f, "After({})", humantime::format_duration(*d)),
            Expiry::When(_) => f.write_str("When(<fn>)"),
        }
    }
}

/// Anything that can be given as `expiry = …`.
pub trait IntoExpiry {
    /// The expiry rule.
    fn into_expiry(self) -> Expiry;
}
impl IntoExpiry for Duration {
    fn into_expiry(self) -> Expiry {
        Expiry::After(self)
    }
}
impl<F: Fn(SystemTime) -> bool + Send + Sync + 'static> IntoExpiry for F {
    fn into_expiry(self) -> Expiry {
        Expiry::When(Arc::new(self))
    }
}

/// Where results go: a spec string (`"fs"`, `"memory"`, `"memory,fs,s3://b/p"`) or a backend.
#[derive(Clone, Debug)]
pub enum StorageChoice {
    /// A storage spec, resolved by the enabled backends.
    Spec(String),
    /// A backend value.
    Instance(Arc<dyn Storage>),
}

/// All options of a checkpoint, as a value: what `#[checkpoint(using = PRESET)]` takes.
///
/// Unset options fall back to the environment, then `checkpointer.toml`, then the defaults.
/// Built-in presets ([`Checkpointer::memory`], [`Checkpointer::tmp`],
/// [`Checkpointer::static_identity`], [`Checkpointer::capture`]) are starting points; a team
/// keeps its own in a `static`:
///
/// ```
/// use checkpointer_core::Checkpointer;
/// let team = Checkpointer::new().storage_spec("memory,fs").verbosity(2).expiry("30d").unwrap();
/// let quiet_memory = Checkpointer::memory();
/// # let _ = (team, quiet_memory);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Checkpointer {
    pub(crate) storage: Option<StorageChoice>,
    pub(crate) directory: Option<PathBuf>,
    pub(crate) verbosity: Option<u8>,
    pub(crate) expiry: Option<Expiry>,
    pub(crate) fn_hash_from: Option<Digest>,
    pub(crate) when: Option<bool>,
    pub(crate) on_error: Option<OnError>,
    pub(crate) capture: bool,
    pub(crate) secrets: Option<Arc<crate::seal::Secrets>>,
    pub(crate) compress: Option<Option<crate::compress::Compression>>,
}

impl Checkpointer {
    /// The default preset: every option from the environment, the config file or defaults
    /// (fs store in the default directory, verbosity 1).
    pub fn new() -> Self {
        Self::default()
    }

    /// Preset: in-memory store, silent: results live as long as the process.
    pub fn memory() -> Self {
        Self::new().storage_spec("memory").verbosity(0)
    }

    /// Preset: fs store under the system temporary directory, one directory per user
    /// (`<tmp>/checkpoints-<uid>` on Unix): a shared `<tmp>/checkpoints` could be made first
    /// by another user, who could then plant entries.
    pub fn tmp() -> Self {
        Self::new()
            .storage_spec("fs")
            .directory(std::env::temp_dir().join(user_dir_name()))
    }

    /// Preset: the identity never changes with the code (only arguments key the cache).
    pub fn static_identity() -> Self {
        Self::new().fn_hash_from("static")
    }

    /// Preset: hash every static and const the function body names on every call (those
    /// whose type implements `ObjectHash`; the others are skipped), as if each were listed
    /// in `capture(…)`.
    pub fn capture() -> Self {
        Self {
            capture: true,
            ..Self::new()
        }
    }

    /// Sets the storage spec (`"fs"`, `"memory"`, `"mmap"`, `"s3://bucket/prefix"`, or tiers
    /// joined by commas, top first; a tier written `ro:SPEC` is only read from).
    pub fn storage_spec(mut self, spec: impl Into<String>) -> Self {
        self.storage = Some(StorageChoice::Spec(spec.into()));
        self
    }

    /// Sets a storage backend value.
    pub fn storage(mut self, storage: impl IntoStorage) -> Self {
        self.storage = Some(StorageChoice::Instance(storage.into_storage()));
        self
    }

    /// Sets the base directory of the fs and mmap stores.
    pub fn directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.directory = Some(dir.into());
        self
    }

    /// Sets the verbosity: 0 silent, 1 computed and corrupt lines, 2 also hits.
    pub fn verbosity(mut self, level: u8) -> Self {
        self.verbosity = Some(level.min(2));
        self
    }

    /// Sets expiry from a duration string such as `"7d"`.
    pub fn expiry(mut self, duration: &str) -> Result<Self, CheckpointError> {
        self.expiry = Some(Expiry::parse(duration)?);
        Ok(self)
    }

    /// Sets expiry from a duration or a predicate on the created time.
    pub fn expire(mut self, rule: impl IntoExpiry) -> Self {
        self.expiry = Some(rule.into_expiry());
        self
    }

    /// Replaces the function identity hash with the hash of `value`.
    pub fn fn_hash_from(mut self, value: impl ObjectHash) -> Self {
        let mut h = crate::Hasher::new();
        h.write_name("fn_hash_from");
        value.object_hash(&mut h);
        self.fn_hash_from = Some(h.finish());
        self
    }

    /// Enables or disables caching (the attribute's `when` is also checked on every call).
    pub fn when(mut self, enabled: bool) -> Self {
        self.when = Some(enabled);
        self
    }

    /// Sets what happens when the cache fails.
    pub fn on_error(mut self, mode: OnError) -> Self {
        self.on_error = Some(mode);
        self
    }

    /// Signs every entry with the first of `secrets` and loads only entries one of them
    /// verifies (the others allow rotation); overrides `CHECKPOINTER_SECRET`. See the README's
    /// threat model.
    pub fn secrets<I, S>(mut self, secrets: I) -> Result<Self, CheckpointError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.secrets = Some(Arc::new(crate::seal::Secrets::new(secrets)?));
        Ok(self)
    }

    /// Compresses entries: `"zstd"`, `"zstd:LEVEL"` or `"none"` (overrides
    /// `CHECKPOINTER_COMPRESS` and `checkpointer.toml`).
    pub fn compress(mut self, setting: &str) -> Result<Self, CheckpointError> {
        self.compress = Some(crate::compress::Compression::parse(setting)?);
        Ok(self)
    }

    /// Sets compression directly (`None`: none), as the attribute's `compress` does.
    pub fn compression(mut self, setting: Option<crate::Compression>) -> Self {
        self.compress = Some(setting);
        self
    }

    /// Whether this preset captures every static and const named by the body.
    pub fn captures_all(&self) -> bool {
        self.capture
    }

    /// The failure policy (default `Warn`).
    pub fn on_error_policy(&self) -> OnError {
        self.on_error.unwrap_or_default()
    }

    /// The identity override, if any.
    pub fn identity_override(&self) -> Option<Digest> {
        self.fn_hash_from
    }

    /// Resolves against the environment and `checkpointer.toml`.
    pub fn resolve(&self, open: OpenTier) -> Result<Resolved, CheckpointError> {
        let file = project_file();
        // Invalid environment values warn and fall back (see `env`).
        let env_verbosity = env::verbosity();
        let env_disabled = env::disabled();
        let disabled = env_disabled.or(file.disable).unwrap_or(false);
        let directory = self
            .directory
            .clone()
            .or_else(|| {
                std::env::var_os(ENV_DIR)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| file.dir.clone())
            .unwrap_or_else(default_dir);
        let settings = Settings { directory };
        let storage = match &self.storage {
            Some(StorageChoice::Instance(s)) => s.clone(),
            Some(StorageChoice::Spec(spec)) => open_spec(spec, &settings, open)?,
            None => {
                let spec = std::env::var(ENV_STORAGE)
                    .ok()
                    .filter(|s| !s.trim().is_empty())
                    .or_else(|| file.storage.clone())
                    .unwrap_or_else(|| "fs".to_string());
                open_spec(&spec, &settings, open)?
            }
        };
        let verbosity = self
            .verbosity
            .or(env_verbosity)
            .or(file.verbosity)
            .unwrap_or(1);
        if disabled {
            let by = match env_disabled {
                Some(_) => format!(
                    "{ENV_DISABLE}={:?}",
                    std::env::var(ENV_DISABLE).unwrap_or_default()
                ),
                None => format!("{CONFIG_FILE} (disable = true)"),
            };
            env::announce_disabled(verbosity, &by);
        }
        let secrets = match &self.secrets {
            Some(s) => Some(s.clone()),
            None => crate::seal::from_env(ENV_SECRET)?,
        };
        let compress = match self.compress {
            Some(c) => c,
            None => match env::compress() {
                Some(setting) => setting,
                None => match &file.compress {
                    Some(v) => crate::compress::Compression::parse(v)?,
                    None => None,
                },
            },
        };
        Ok(Resolved {
            compress,
            secrets,
            storage,
            verbosity,
            expiry: self.expiry.clone(),
            enabled: self.when.unwrap_or(true) && !disabled,
            on_error: self.on_error.unwrap_or_default(),
            settings,
        })
    }
}

/// Options after resolution: what a `CachedFn` runs with.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The storage (a `Layered` one for tiered specs).
    pub storage: Arc<dyn Storage>,
    /// 0, 1 or 2.
    pub verbosity: u8,
    /// Expiry rule, if any.
    pub expiry: Option<Expiry>,
    /// False under `when = false` in a preset or `CHECKPOINTER_DISABLE=1`.
    pub enabled: bool,
    /// Failure policy.
    pub on_error: OnError,
    /// Backend settings.
    pub settings: Settings,
    /// Compression of stored entries, if any.
    pub compress: Option<crate::compress::Compression>,
    /// Secrets entries are signed and verified with, if any.
    pub secrets: Option<Arc<crate::seal::Secrets>>,
}

/// What backends need to open themselves from a spec.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Base directory of the fs and mmap stores.
    pub directory: PathBuf,
}

/// Opens one tier of a storage spec (`"fs"`, `"memory"`, `"s3://…"`); provided by the facade,
/// which knows the enabled backends.
pub type OpenTier =
    fn(tier: &str, settings: &Settings) -> Result<Arc<dyn Storage>, CheckpointError>;

/// Opens a whole spec: one tier, or several joined by commas (top first) as a [`crate::Layered`].
pub fn open_spec(
    spec: &str,
    settings: &Settings,
    open: OpenTier,
) -> Result<Arc<dyn Storage>, CheckpointError> {
    let tiers: Vec<&str> = spec.split(',').map(str::trim).collect();
    if tiers.iter().any(|t| t.is_empty()) {
        return Err(CheckpointError::Spec {
            spec: spec.to_string(),
            reason: "empty tier".to_string(),
        });
    }
    if tiers.len() == 1 {
        return crate::read_only::open_tier(tiers[0], settings, open);
    }
    let opened = tiers
        .iter()
        .map(|t| crate::read_only::open_tier(t, settings, open))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(crate::Layered::new(opened)))
}

/// The default base directory: the user cache directory + `/checkpoints`.
pub fn default_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("checkpoints")
}

/// The settings read from `checkpointer.toml`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Base directory (relative paths are relative to the file).
    #[serde(alias = "directory")]
    pub dir: Option<PathBuf>,
    /// Default storage spec.
    pub storage: Option<String>,
    /// Default verbosity.
    pub verbosity: Option<u8>,
    /// Disable every checkpoint.
    pub disable: Option<bool>,
    /// Compression: `"zstd"`, `"zstd:LEVEL"` or `"none"`.
    pub compress: Option<String>,
}

impl FileConfig {
    /// Reads and validates a config file.
    pub fn read(path: &Path) -> Result<Self, CheckpointError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CheckpointError::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut cfg: FileConfig = toml::from_str(&text)
            .map_err(|e| CheckpointError::Config(format!("{}: {e}", path.display())))?;
        if let Some(v) = cfg.verbosity {
            if v > 2 {
                return Err(CheckpointError::Config(format!(
                    "{}: verbosity must be 0, 1 or 2",
                    path.display()
                )));
            }
        }
        if let Some(c) = &cfg.compress {
            crate::compress::Compression::parse(c)
                .map_err(|e| CheckpointError::Config(format!("{}: {e}", path.display())))?;
        }
        if let (Some(dir), Some(base)) = (&cfg.dir, path.parent()) {
            if dir.is_relative() {
                cfg.dir = Some(base.join(dir));
            }
        }
        Ok(cfg)
    }

    /// Finds `checkpointer.toml` from `start` upward.
    pub fn find(start: &Path) -> Option<PathBuf> {
        start
            .ancestors()
            .map(|d| d.join(CONFIG_FILE))
            .find(|p| p.is_file())
    }
}

/// The project file, read once per process. A broken file is reported once and ignored.
fn project_file() -> &'static FileConfig {
    static FILE: OnceLock<FileConfig> = OnceLock::new();
    FILE.get_or_init(|| {
        let Some(path) = std::env::current_dir()
            .ok()
            .and_then(|d| FileConfig::find(&d))
        else {
            return FileConfig::default();
        };
        FileConfig::read(&path).unwrap_or_else(|e| {
            crate::report::warn_line(&format!("ignoring {}: {e}", path.display()));
            FileConfig::default()
        })
    })
}

/// `checkpoints-<effective uid>` (Unix) or `checkpoints-<user name>`: the per-user directory
/// name of [`Checkpointer::tmp`].
fn user_dir_name() -> String {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() }.to_string();
    #[cfg(not(unix))]
    let user = crate::sanitize(&std::env::var("USERNAME").unwrap_or_default());
    format!("checkpoints-{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_parses_and_judges() {
        let e = Expiry::parse("7d").unwrap();
        let now = SystemTime::now();
        assert!(!e.is_expired(now - Duration::from_secs(3600), now));
        assert!(e.is_expired(now - Duration::from_secs(8 * 86400), now));
        assert!(Expiry::parse("seven days").is_err());
        // Issue 9, finding 10: a created time far in the future expired never.
        assert!(e.is_expired(now + Duration::from_secs(8 * 86400), now));
        assert!(!e.is_expired(now + Duration::from_secs(60), now));
    }

    #[test]
    fn config_file_is_found_upward_and_validated() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "dir = \"cache\"\nverbosity = 2\n",
        )
        .unwrap();
        let found = FileConfig::find(&nested).unwrap();
        let cfg = FileConfig::read(&found).unwrap();
        assert_eq!(cfg.dir.unwrap(), dir.path().join("cache"));
        assert_eq!(cfg.verbosity, Some(2));
        std::fs::write(dir.path().join(CONFIG_FILE), "colour = true\n").unwrap();
        let err = FileConfig::read(&found).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }
}
