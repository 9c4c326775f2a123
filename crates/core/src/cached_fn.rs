//! `CachedFn`: the per-function runtime behind `#[checkpoint]` and its companions.

use crate::config::{OnError, OpenTier, Resolved};
use crate::decoded::{Call, Memo};
use crate::flight::{Flights, Leader, Role};
use crate::report::{self, Event};
use crate::{
    maintenance, manifest, CheckpointError, Checkpointer, Digest, Entry, FnPath, Hasher, Key,
    ObjectHash, Outcome, ValueCodec,
};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// What the macro knows about a function at compile time.
#[derive(Debug)]
pub struct FnInfo {
    /// `module_path!()` at the function.
    pub module_path: &'static str,
    /// The function's name (`Type.method` for methods).
    pub name: &'static str,
    /// The identity hash computed at compile time, 64 hex characters.
    pub identity: &'static str,
    /// Environment variables whose values are part of every call hash (`env(...)`).
    pub env: &'static [&'static str],
    /// Files whose contents are part of every call hash (`files(...)`).
    pub files: &'static [&'static str],
    /// The items the identity is made of, for [`CachedFn::identity_items`]:
    /// `(path, short hash)` pairs.
    pub items: &'static [(&'static str, &'static str)],
}

/// The runtime of one cached function: resolved options, storage, identity, in-flight calls.
///
/// One lives in a `static` per `#[checkpoint]` function; `square::handle()` returns it.
/// Everything is resolved lazily on first use and again after [`CachedFn::reinit`].
pub struct CachedFn {
    info: FnInfo,
    options: fn() -> Checkpointer,
    open: OpenTier,
    capture_once: Option<fn(&mut Hasher)>,
    /// The resolved state: null until first use and after `reinit`. A published state is
    /// never freed (a `reinit` leaks the old one, since calls in flight may still read it),
    /// so a hit reads it with one acquire load and no reference counting.
    state: AtomicPtr<State>,
    init: Mutex<()>,
    flights: Flights,
    warned: Mutex<Vec<&'static str>>,
    file_memo: Mutex<Vec<FileMemo>>,
}

struct State {
    capture_all: bool,
    /// The policy from the options, kept even when resolving them failed.
    on_error: OnError,
    path: Arc<FnPath>,
    identity: Digest,
    once: Option<Digest>,
    config: Result<Resolved, String>,
}

enum Prepared<'a, O> {
    /// Run the function, touching no cache.
    Run,
    /// Already decided (a hit answered at once, or an error raised).
    Done(O),
    /// Cached under this key, with the miss the store already answered without waiting, if
    /// it did (see [`Now::Missed`]).
    Cached(&'a State, &'a Resolved, Key, Option<Missed>),
}

#[derive(Clone)]
struct FileMemo {
    path: &'static str,
    stamp: Option<crate::file_stamp::Stamp>,
    digest: Digest,
}

impl std::fmt::Debug for CachedFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedFn")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl CachedFn {
    /// A cached function; used by the macro in a `static`.
    #[doc(hidden)]
    pub const fn new(
        info: FnInfo,
        options: fn() -> Checkpointer,
        open: OpenTier,
        capture_once: Option<fn(&mut Hasher)>,
    ) -> Self {
        CachedFn {
            info,
            options,
            open,
            capture_once,
            state: AtomicPtr::new(std::ptr::null_mut()),
            init: Mutex::new(()),
            flights: Flights::new(),
            warned: Mutex::new(Vec::new()),
            file_memo: Mutex::new(Vec::new()),
        }
    }

    fn state(&self) -> &State {
        let p = self.state.load(Ordering::Acquire);
        if p.is_null() {
            return self.init_state();
        }
        // SAFETY: a non-null pointer was published by `init_state` from `Box::into_raw` and
        // is never freed (see the field's comment), so it is valid for as long as `self`.
        unsafe { &*p }
    }

    #[cold]
    fn init_state(&self) -> &State {
        let _init = self.init.lock().unwrap_or_else(PoisonError::into_inner);
        let p = self.state.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: as in `state`.
            return unsafe { &*p };
        }
        let options = (self.options)();
        let identity = options
            .identity_override()
            .or_else(|| Digest::from_hex(self.info.identity))
            .unwrap_or_else(|| Digest::of_bytes(self.info.identity.as_bytes()));
        let once = self.capture_once.map(|f| {
            let mut h = Hasher::new();
            f(&mut h);
            h.finish()
        });
        // Kept as text; `config()` wraps it in `Config` again, so keep a `Config` message bare.
        let config = options.resolve(self.open).map_err(|e| match e {
            CheckpointError::Config(message) => message,
            other => other.to_string(),
        });
        let state = Box::into_raw(Box::new(State {
            capture_all: options.captures_all(),
            on_error: options.on_error_policy(),
            path: Arc::new(FnPath::from_module_path(
                self.info.module_path,
                self.info.name,
            )),
            identity,
            once,
            config,
        }));
        self.state.store(state, Ordering::Release);
        // SAFETY: just created from a Box and never freed.
        unsafe { &*state }
    }

    /// Forgets the resolved options, identity and `capture_once` values: the next call
    /// resolves them again (re-reading the environment and the preset).
    pub fn reinit(&self) {
        let _init = self.init.lock().unwrap_or_else(PoisonError::into_inner);
        // The old state is leaked on purpose: concurrent calls may still be reading it.
        self.state.store(std::ptr::null_mut(), Ordering::Release);
        self.file_memo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.warned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The function's path (crate, module, name).
    pub fn path(&self) -> Arc<FnPath> {
        self.state().path.clone()
    }

    /// Whether the preset asks to hash every static and const the body names
    /// ([`Checkpointer::capture`]); generated code checks it on every call.
    pub fn captures_all(&self) -> bool {
        self.state().capture_all
    }

    /// The identity hash in use (the compiled one, or `fn_hash_from`).
    pub fn identity(&self) -> Digest {
        self.state().identity
    }

    /// The items the identity hash is made of: `(path, short hash)`, in a stable order.
    pub fn identity_items(&self) -> &'static [(&'static str, &'static str)] {
        self.info.items
    }

    /// The resolved options, or the error that stopped them resolving.
    pub fn config(&self) -> Result<Resolved, CheckpointError> {
        self.state().config.clone().map_err(CheckpointError::Config)
    }

    /// Finishes a call hash: the arguments and captures the macro wrote, then `env`,
    /// `files` and `capture_once`.
    pub fn call_hash(&self, mut hasher: Hasher) -> Digest {
        let state = self.state();
        self.finish_hash(state, &mut hasher);
        hasher.finish()
    }

    #[inline]
    fn finish_hash(&self, state: &State, h: &mut Hasher) {
        for var in self.info.env {
            h.write_name(var);
            // Exact bytes: a UTF-8 value hashes like a `String`, any other never lossily.
            std::env::var_os(var).object_hash(h);
        }
        for (i, file) in self.info.files.iter().enumerate() {
            h.write_name(file);
            let digest = self.file_digest(i, file);
            if digest.is_none() {
                let print = state.config.as_ref().map_or(true, |c| c.verbosity >= 1);
                crate::report::missing_file(print, &state.path, file);
            }
            digest.object_hash(h);
        }
        if let Some(once) = state.once {
            h.write_raw(&once.0);
        }
    }

    /// A file's content hash, re-read unless its stamp (see `file_stamp`) is unchanged.
    fn file_digest(&self, index: usize, path: &'static str) -> Option<Digest> {
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        let stamp = crate::file_stamp::of(&meta, SystemTime::now());
        {
            let memo = self
                .file_memo
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(m) = memo
                .get(index)
                .filter(|m| m.path == path && stamp.is_some() && m.stamp == stamp)
            {
                return Some(m.digest);
            }
        }
        let digest = hash_file(Path::new(path))?;
        let mut memo = self
            .file_memo
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if memo.len() <= index {
            memo.resize(
                index + 1,
                FileMemo {
                    path: "",
                    stamp: None,
                    digest: Digest::default(),
                },
            );
        }
        memo[index] = FileMemo {
            path,
            stamp,
            digest,
        };
        Some(digest)
    }

    #[inline]
    fn key(&self, state: &State, mut hasher: Hasher) -> Key {
        self.finish_hash(state, &mut hasher);
        Key {
            function: state.path.clone(),
            identity: state.identity,
            call: hasher.finish_memoized(),
        }
    }

    /// Reports a cache failure by policy. Returns the error when it must be raised.
    fn failed(
        &self,
        state: &State,
        config: Option<&Resolved>,
        op: &'static str,
        error: CheckpointError,
    ) -> Option<CheckpointError> {
        let policy = config.map_or(state.on_error, |c| c.on_error);
        match policy {
            OnError::Raise => Some(error),
            OnError::Ignore => {
                tracing::debug!(target: "checkpointer", function = %state.path, "{op} failed: {error}");
                None
            }
            OnError::Warn => {
                let first = {
                    let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
                    let first = !warned.contains(&op);
                    if first {
                        warned.push(op);
                    }
                    first
                };
                let verbose = config.map(|c| c.verbosity >= 1).unwrap_or(true);
                report::warn(
                    first && verbose,
                    &state.path,
                    &format!("{}: {error}", consequence(op)),
                );
                None
            }
        }
    }

    /// Loads a valid value: present, not expired, checksum good, decodable. A corrupt or
    /// undecodable entry is a miss (it is overwritten by the next store); it is reported with
    /// a warning when `announce` is set, so a call warns once, not once per re-check.
    async fn lookup<'c, T>(
        &self,
        state: &State,
        config: &'c Resolved,
        codec: ValueCodec<T>,
        key: &Key,
        announce: bool,
        memo: Option<Memo<T>>,
    ) -> Result<Option<(T, HitFrom<'c>)>, CheckpointError> {
        // Only entries a store answered without waiting (memory) are remembered decoded: a
        // store that reads bytes hands out a new buffer on every load.
        let (loaded, memo) = match config.storage.load_now(key) {
            Some(now) => (now?.map(|e| (e, HitFrom::Top(&*config.storage))), memo),
            None => (
                (config.storage.load_from(key).await?).map(|(e, s)| (e, HitFrom::Loaded(s))),
                None,
            ),
        };
        Ok(loaded.and_then(|(entry, from)| {
            self.accept(state, config, codec, key, entry, announce, memo)
                .map(|v| (v, from))
        }))
    }

    /// Judges a loaded entry: expired, damaged or undecodable entries are misses. With a
    /// `memo`, a value decoded from this very buffer before is returned as a clone (see
    /// `decoded.rs`), and a newly decoded one is remembered.
    #[allow(clippy::too_many_arguments)]
    fn accept<T>(
        &self,
        state: &State,
        config: &Resolved,
        codec: ValueCodec<T>,
        key: &Key,
        entry: Entry,
        announce: bool,
        memo: Option<Memo<T>>,
    ) -> Option<T> {
        if let Some(expiry) = &config.expiry {
            if expiry.is_expired(entry.meta.created, SystemTime::now()) {
                return None;
            }
        }
        if let Some(memo) = memo {
            if let Some(v) = memo.recall(&entry, key) {
                return Some(v);
            }
        }
        // Kept for remembering: `opened` consumes the entry.
        let remembered = memo.map(|m| (m, entry.clone()));
        let checked = if entry.is_damaged() {
            Err(CheckpointError::Corrupt(
                "the stored entry is damaged".into(),
            ))
        } else if config.storage.trusted() {
            Ok(())
        } else {
            entry.check_loaded()
        };
        let opened = checked
            .and_then(|()| crate::seal::open(config.secrets.as_deref(), key, entry))
            .and_then(crate::compress::expand);
        match opened.and_then(|entry| codec.decode(&entry)) {
            Ok(v) => {
                if let Some((memo, entry)) = remembered {
                    memo.remember(&entry, key, &v);
                }
                Some(v)
            }
            Err(e) => {
                let message = format!(
                    "entry [{}] is unusable, recomputing: {e}",
                    key.call.short(12)
                );
                report::warn(announce && config.verbosity >= 1, &state.path, &message);
                None
            }
        }
    }

    async fn store_value<T>(
        &self,
        config: &Resolved,
        codec: ValueCodec<T>,
        key: &Key,
        value: &T,
    ) -> Result<(), CheckpointError> {
        let mut entry = codec.encode(value)?;
        if let Some(c) = config.compress {
            entry = c.apply(entry)?;
        }
        if let Some(secrets) = &config.secrets {
            entry = crate::seal::seal(secrets, key, entry);
        }
        match config.storage.store_now(key, entry) {
            Ok(stored) => stored,
            Err(entry) => config.storage.store(key, entry).await,
        }
    }

    /// Decides how a call runs: uncached (disabled, or the options failed under a policy
    /// that computes), raised, or cached under a key.
    #[inline]
    fn prepare<O: Outcome>(&self, hasher: Hasher, when: bool) -> Prepared<'_, O> {
        let state = self.state();
        match &state.config {
            Ok(config) if when && config.enabled => {
                Prepared::Cached(state, config, self.key(state, hasher), None)
            }
            Ok(_) => Prepared::Run,
            Err(e) if when => match self
                .failed(state, None, "setup", CheckpointError::Config(e.clone()))
                .map(O::from_error)
            {
                Some(Ok(raised)) => Prepared::Done(raised),
                _ => Prepared::Run,
            },
            Err(_) => Prepared::Run,
        }
    }

    /// The cached call: load, or compute once (per key, per process) and store.
    ///
    /// `when` is the attribute's `when` for this call; `codec` is
    /// `<O::Value as Storable>::CODEC` (see [`crate::Storable`]).
    pub async fn call<O: Outcome, Fut: Future<Output = O>>(
        &self,
        hasher: Hasher,
        when: bool,
        codec: ValueCodec<O::Value>,
        f: impl FnOnce() -> Fut,
    ) -> O {
        self.call_memo(None, hasher, when, codec, f).await
    }

    /// [`Self::call`], remembering decoded values of memory hits with `memo` (the macro
    /// passes one for `Clone` return types; see `decoded.rs`).
    pub async fn call_memo<O: Outcome, Fut: Future<Output = O>>(
        &self,
        memo: Option<Memo<O::Value>>,
        hasher: Hasher,
        when: bool,
        codec: ValueCodec<O::Value>,
        f: impl FnOnce() -> Fut,
    ) -> O {
        if let Some(o) = self.recall_call(memo, &hasher, when) {
            return o;
        }
        match self.begin(memo, hasher, when, codec) {
            Prepared::Run => f().await,
            Prepared::Done(o) => o,
            Prepared::Cached(state, config, key, missed) => {
                self.call_keyed(state, config, codec, key, missed, memo, f)
                    .await
            }
        }
    }

    /// What a call does past the argument table before it may have to wait, the same for sync
    /// and async callers: the options, and a hit in a store that answers at once (memory).
    /// What is left `Cached` takes the store's slow path.
    #[inline]
    fn begin<O: Outcome>(
        &self,
        memo: Option<Memo<O::Value>>,
        hasher: Hasher,
        when: bool,
        codec: ValueCodec<O::Value>,
    ) -> Prepared<'_, O> {
        let args = Args::of(memo.is_some() && self.keyed_by_args(), &hasher);
        match self.prepare::<O>(hasher, when) {
            Prepared::Cached(state, config, key, _) => {
                match self.hit_now(state, config, codec, &key, memo, args.as_ref()) {
                    Now::Hit(o) => Prepared::Done(o),
                    Now::Missed(missed) => Prepared::Cached(state, config, key, Some(missed)),
                    Now::Ask => Prepared::Cached(state, config, key, None),
                }
            }
            other => other,
        }
    }

    /// A repeated call answered from the argument table (see `decoded.rs`): same function
    /// state, same argument bytes, the store unchanged since, the entry unexpired. Not taken
    /// when hits are logged (the log line names the call hash, which this skips).
    #[inline]
    fn recall_call<O: Outcome>(
        &self,
        memo: Option<Memo<O::Value>>,
        hasher: &Hasher,
        when: bool,
    ) -> Option<O> {
        let memo = memo?;
        if !when || !self.keyed_by_args() {
            return None;
        }
        let state = self.state();
        let config = state.config.as_ref().ok().filter(|c| c.enabled)?;
        if config.verbosity >= 2 || report::hits_traced() {
            return None;
        }
        let generation = config.storage.generation()?;
        let (buf, len) = hasher.inline_buf()?;
        let call = self.call_site(state, buf, len);
        let (value, created) = memo.recall_call(&call, generation)?;
        if let Some(expiry) = &config.expiry {
            if expiry.is_expired(created, SystemTime::now()) {
                return None;
            }
        }
        Some(O::from_value(value))
    }

    /// Whether the call hash is the arguments alone (with what the state fixes): no `env` or
    /// `files`, whose values are read on every call.
    #[inline]
    fn keyed_by_args(&self) -> bool {
        self.info.env.is_empty() && self.info.files.is_empty()
    }

    fn call_site<'a>(&self, state: &State, buf: &'a [u8; Hasher::INLINE], len: usize) -> Call<'a> {
        Call {
            site: self as *const CachedFn as usize,
            state: state as *const State as usize,
            buf,
            len,
        }
    }

    /// A hit in a store that answers without waiting (memory), remembered for the argument
    /// table when `args` are given.
    #[inline]
    fn hit_now<O: Outcome>(
        &self,
        state: &State,
        config: &Resolved,
        codec: ValueCodec<O::Value>,
        key: &Key,
        memo: Option<Memo<O::Value>>,
        args: Option<&Args>,
    ) -> Now<O> {
        // Read before the load: a store or delete after this read changes it, so a value
        // remembered under it can never outlive the entry it came from, and a miss under it
        // holds while it is unchanged.
        let generation = config.storage.generation();
        let missed = Missed { generation };
        let entry = match config.storage.load_now(key) {
            Some(Ok(Some(entry))) => entry,
            Some(Ok(None)) => return Now::Missed(missed),
            // An error is the slow path's to report, by policy.
            None | Some(Err(_)) => return Now::Ask,
        };
        let kept = memo.and(args).and(generation).map(|g| (g, entry.clone()));
        let Some(v) = self.accept(state, config, codec, key, entry, true, memo) else {
            // Expired, damaged or undecodable (reported already): a miss all the same.
            return Now::Missed(missed);
        };
        if let (Some((g, entry)), Some(memo), Some(args)) = (kept, memo, args) {
            let call = self.call_site(state, &args.buf, args.len);
            memo.remember_call(&call, g, &entry, &v);
        }
        let from = HitFrom::Top(&*config.storage);
        report::event(
            config.verbosity,
            Event::Remembered(&from),
            &state.path,
            &key.call,
        );
        Now::Hit(O::from_value(v))
    }

    /// The cached call of a sync function. A hit in a store that answers without waiting
    /// (memory) returns here without building a future; everything else runs [`Self::call`]'s
    /// path under `block_on`.
    pub fn call_sync<O: Outcome>(
        &self,
        hasher: Hasher,
        when: bool,
        codec: ValueCodec<O::Value>,
        f: impl FnOnce() -> O,
    ) -> O {
        self.call_sync_memo(None, hasher, when, codec, f)
    }

    /// [`Self::call_sync`], remembering decoded values of memory hits with `memo` (the
    /// macro passes one for `Clone` return types; see `decoded.rs`).
    #[inline]
    pub fn call_sync_memo<O: Outcome>(
        &self,
        memo: Option<Memo<O::Value>>,
        hasher: Hasher,
        when: bool,
        codec: ValueCodec<O::Value>,
        f: impl FnOnce() -> O,
    ) -> O {
        // A repeated hit is answered here; the rest is a call of its own, so that this
        // frame stays small.
        if let Some(o) = self.recall_call(memo, &hasher, when) {
            return o;
        }
        self.call_sync_rest(memo, hasher, when, codec, f)
    }

    #[inline(never)]
    fn call_sync_rest<O: Outcome>(
        &self,
        memo: Option<Memo<O::Value>>,
        hasher: Hasher,
        when: bool,
        codec: ValueCodec<O::Value>,
        f: impl FnOnce() -> O,
    ) -> O {
        match self.begin(memo, hasher, when, codec) {
            Prepared::Run => f(),
            Prepared::Done(o) => o,
            Prepared::Cached(state, config, key, missed) => {
                let compute = || std::future::ready(f());
                crate::block_on(self.call_keyed(state, config, codec, key, missed, memo, compute))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn call_keyed<O: Outcome, Fut: Future<Output = O>>(
        &self,
        state: &State,
        config: &Resolved,
        codec: ValueCodec<O::Value>,
        key: Key,
        missed: Option<Missed>,
        memo: Option<Memo<O::Value>>,
        f: impl FnOnce() -> Fut,
    ) -> O {
        // After a miss the store answered without waiting, asking again would only repeat it:
        // the leader loads once more below anyway, after joining the flight.
        let first = if missed.is_some() {
            Ok(None)
        } else {
            self.lookup(state, config, codec, &key, true, memo).await
        };
        match first {
            Ok(Some((v, from))) => {
                report::event(
                    config.verbosity,
                    Event::Remembered(&from),
                    &state.path,
                    &key.call,
                );
                return O::from_value(v);
            }
            Ok(None) => {}
            Err(e) => {
                if let Some(e) = self.failed(state, Some(config), "load", e) {
                    if let Ok(o) = O::from_error(e) {
                        return o;
                    }
                }
                // The store cannot be read: compute without waiting on or writing to it.
                return f().await;
            }
        }
        let f = match self.outside_flight(state, config, codec, &key, f).await {
            Ok(o) => return o,
            Err(f) => f,
        };
        loop {
            match self.flights.join(key.call) {
                Role::Waiter(wait) => {
                    let stored = wait.await;
                    if let Ok(Some((v, from))) =
                        self.lookup(state, config, codec, &key, false, memo).await
                    {
                        report::event(
                            config.verbosity,
                            Event::Remembered(&from),
                            &state.path,
                            &key.call,
                        );
                        return O::from_value(v);
                    }
                    if !stored {
                        // The leader's outcome is not cached (an `Err`, a panic, a failed
                        // store): retry now, beside the other waiters, not one after another.
                        return self
                            .compute_and_store(state, config, codec, &key, None, f)
                            .await;
                    }
                }
                Role::Leader(leader) => {
                    // Other processes: hold the backend's lock while computing. Failing to
                    // lock is not fatal: compute anyway (at worst twice, never wrongly).
                    let locked = if config.storage.locks() {
                        config.storage.lock(&key).await
                    } else {
                        Ok(None)
                    };
                    let _lock = match locked {
                        Ok(lock) => lock,
                        Err(e) => {
                            if let Some(Ok(o)) = self
                                .failed(state, Some(config), "lock", e)
                                .map(O::from_error)
                            {
                                return o;
                            }
                            None
                        }
                    };
                    // Another caller or process may have finished between our miss and now;
                    // not if the store's generation, read before that miss, is unchanged:
                    // nothing was stored or deleted since, so loading would miss again. Only
                    // for a store that takes no cross-process lock: the generation vouches for
                    // what `load_now` answers, and another process's store into a locking tier
                    // (a stack's fs below its memory) would not change it.
                    let unchanged = !config.storage.locks()
                        && missed
                            .and_then(|m| m.generation)
                            .is_some_and(|g| config.storage.generation() == Some(g));
                    let again = if unchanged {
                        Ok(None)
                    } else {
                        self.lookup(state, config, codec, &key, false, memo).await
                    };
                    if let Ok(Some((v, from))) = again {
                        report::event(
                            config.verbosity,
                            Event::Remembered(&from),
                            &state.path,
                            &key.call,
                        );
                        return O::from_value(v);
                    }
                    return self
                        .compute_and_store(state, config, codec, &key, Some(&leader), f)
                        .await;
                }
            }
        }
    }

    /// A call that must not join its key's flight, answered here: inside its own computation
    /// (see [`Self::reentry`]), or at thread exit, when the thread cannot tell (it computes and
    /// stores without a flight; see `Flights::reentered`). `Err(f)` hands `f` back otherwise.
    async fn outside_flight<O: Outcome, Fut: Future<Output = O>, F: FnOnce() -> Fut>(
        &self,
        state: &State,
        config: &Resolved,
        codec: ValueCodec<O::Value>,
        key: &Key,
        f: F,
    ) -> Result<O, F> {
        match self.flights.reentered(key.call) {
            Some(false) => Err(f),
            Some(true) => Ok(self.reentry(state, config, key, f).await),
            None => Ok(self
                .compute_and_store(state, config, codec, key, None, f)
                .await),
        }
    }

    /// A call inside its own computation (same key, same thread or task): waiting would wait
    /// forever, so it computes without the cache, with a warning (or raises).
    async fn reentry<O: Outcome, Fut: Future<Output = O>>(
        &self,
        state: &State,
        config: &Resolved,
        key: &Key,
        f: impl FnOnce() -> Fut,
    ) -> O {
        let error = CheckpointError::Reentrant {
            function: state.path.to_string(),
            call: key.call.to_hex(),
        };
        if let Some(Ok(o)) = self
            .failed(state, Some(config), "reentry", error)
            .map(O::from_error)
        {
            return o;
        }
        f().await
    }

    async fn compute_and_store<O: Outcome, Fut: Future<Output = O>>(
        &self,
        state: &State,
        config: &Resolved,
        codec: ValueCodec<O::Value>,
        key: &Key,
        leader: Option<&Leader<'_>>,
        f: impl FnOnce() -> Fut,
    ) -> O {
        // Nested cached calls record this one as their parent (see `parent.rs`); the flight
        // knows this key is computing, so a re-entry is detected (see `flight.rs`).
        let parent = crate::parent::current();
        // The store is part of the computation too: a `Serialize` impl that calls this very
        // key must see a re-entry, not wait for the flight it is part of (forever).
        let (out, stored) = self
            .flights
            .computing(key.call, || async move {
                let fut = {
                    let _enter = crate::parent::enter(key);
                    f()
                };
                let out = crate::parent::within(key, fut).await;
                let stored = match out.cacheable() {
                    Some(value) => Some(self.store_value(config, codec, key, value).await),
                    None => None,
                };
                (out, stored)
            })
            .await;
        if let Some(stored) = stored {
            match stored {
                Ok(()) => {
                    if let Some(l) = leader {
                        l.stored();
                    }
                    report::event(config.verbosity, Event::Computed, &state.path, &key.call);
                    let (compiled, items) = (self.info.identity, self.info.items);
                    manifest::record(&*config.storage, key, compiled, items, parent.as_ref()).await;
                }
                Err(e) => {
                    if let Some(e) = self.failed(state, Some(config), "store", e) {
                        if let Ok(o) = O::from_error(e) {
                            return o;
                        }
                    }
                }
            }
        }
        out
    }

    /// Runs the function and overwrites its entry (`square::rerun`).
    pub async fn rerun<O: Outcome, Fut: Future<Output = O>>(
        &self,
        hasher: Hasher,
        codec: ValueCodec<O::Value>,
        f: impl FnOnce() -> Fut,
    ) -> O {
        let state = self.state();
        let Ok(config) = &state.config else {
            return f().await;
        };
        if !config.enabled {
            return f().await;
        }
        let key = self.key(state, hasher);
        let f = match self.outside_flight(state, config, codec, &key, f).await {
            Ok(o) => return o,
            Err(f) => f,
        };
        // A computation of this key in flight here finishes first, then the rerun leads.
        let leader = loop {
            match self.flights.join(key.call) {
                Role::Leader(leader) => break leader,
                Role::Waiter(wait) => {
                    wait.await;
                }
            }
        };
        // Other processes computing this key finish first; a rerun then overwrites.
        let _lock = config.storage.lock(&key).await.ok().flatten();
        self.compute_and_store(state, config, codec, &key, Some(&leader), f)
            .await
    }

    fn ready(&self) -> Result<(&State, Resolved), CheckpointError> {
        let state = self.state();
        let config = state.config.clone().map_err(CheckpointError::Config)?;
        Ok((state, config))
    }

    /// The cached value, or `Err(NotCached)` (`square::get`).
    pub async fn get<T>(&self, hasher: Hasher, codec: ValueCodec<T>) -> Result<T, CheckpointError> {
        let (state, config) = self.ready()?;
        let key = self.key(state, hasher);
        self.lookup(state, &config, codec, &key, true, None)
            .await?
            .map(|(v, _)| v)
            .ok_or_else(|| CheckpointError::NotCached {
                function: state.path.to_string(),
                call: key.call.to_hex(),
            })
    }

    /// Whether a valid entry exists (`square::exists`): present, unexpired, intact and
    /// decodable as `T` — exactly when [`CachedFn::get`] would return it.
    pub async fn exists<T>(
        &self,
        hasher: Hasher,
        codec: ValueCodec<T>,
    ) -> Result<bool, CheckpointError> {
        let (state, config) = self.ready()?;
        let key = self.key(state, hasher);
        Ok(self
            .lookup(state, &config, codec, &key, false, None)
            .await?
            .is_some())
    }

    /// Removes the entry from every tier; `Ok(true)` if there was one (`square::delete`).
    pub async fn delete(&self, hasher: Hasher) -> Result<bool, CheckpointError> {
        let (state, config) = self.ready()?;
        let key = self.key(state, hasher);
        config.storage.delete(&key).await
    }

    /// Stores `value` without running the function (`square::set`).
    pub async fn set<T>(
        &self,
        hasher: Hasher,
        codec: ValueCodec<T>,
        value: &T,
    ) -> Result<(), CheckpointError> {
        let (state, config) = self.ready()?;
        let key = self.key(state, hasher);
        self.store_value(&config, codec, &key, value).await
    }

    /// Statistics of this function's entries, per identity (current and invalidated).
    pub fn stats(&self) -> Result<maintenance::FnStats, CheckpointError> {
        let (state, config) = self.ready()?;
        crate::block_on(maintenance::fn_stats(
            &*config.storage,
            &state.path,
            state.identity,
        ))
    }

    /// Removes this function's entries of other identities (`invalidated`) and past their
    /// expiry (`expired`). Returns how many were removed.
    pub fn cleanup(&self, invalidated: bool, expired: bool) -> Result<u64, CheckpointError> {
        let (state, config) = self.ready()?;
        let expiry = if expired { config.expiry.clone() } else { None };
        crate::block_on(maintenance::cleanup_fn(
            &*config.storage,
            &state.path,
            invalidated.then_some(state.identity),
            expiry.as_ref(),
        ))
    }

    /// Removes every entry of this function, all identities. Returns how many.
    pub fn clear(&self) -> Result<u64, CheckpointError> {
        let (state, config) = self.ready()?;
        crate::block_on(maintenance::clear(
            &*config.storage,
            &crate::Scope::Function(state.path.clone()),
        ))
    }

    /// Removes this function's entries (all identities) by age and by total size, least
    /// recently used first (see [`maintenance::prune`]).
    pub fn prune(
        &self,
        rule: maintenance::PruneRule,
    ) -> Result<maintenance::PruneReport, CheckpointError> {
        let (state, config) = self.ready()?;
        crate::block_on(maintenance::prune(
            &*config.storage,
            &crate::Scope::Function(state.path.clone()),
            rule,
        ))
    }
}

/// What a store answered without waiting (see [`CachedFn::hit_now`]).
enum Now<O> {
    /// A valid entry.
    Hit(O),
    /// No usable entry (none, or one refused as expired, damaged or undecodable): the slow
    /// path need not load before joining the flight, whose leader loads again unless the
    /// store's generation says nothing changed.
    Missed(Missed),
    /// The store cannot answer without waiting, or failed: the slow path loads (and reports).
    Ask,
}

/// A miss a store answered without waiting.
#[derive(Clone, Copy)]
struct Missed {
    /// The store's [`crate::Storage::generation`], read before that load.
    generation: Option<u64>,
}

/// A copy of a call's argument bytes, kept past the hasher for the argument table.
struct Args {
    buf: [u8; Hasher::INLINE],
    len: usize,
}

impl Args {
    /// The arguments written to `hasher`, when a memo may remember them.
    #[inline]
    fn of(memo: bool, hasher: &Hasher) -> Option<Args> {
        let (buf, len) = hasher.inline_buf().filter(|_| memo)?;
        Some(Args { buf: *buf, len })
    }
}

/// Which tier answered a hit, for the `remembered` line: the top tier (a hit answered without
/// waiting, named only if the line is printed) or the tier a load named.
enum HitFrom<'a> {
    Top(&'a dyn crate::Storage),
    Loaded(crate::Source),
}

impl std::fmt::Display for HitFrom<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // A stack's top tier is its first; a single backend is its own tier.
            HitFrom::Top(storage) => match storage.tier_stats().into_iter().next() {
                Some(top) => f.write_str(&top.tier),
                None => f.write_str(storage.name()),
            },
            HitFrom::Loaded(source) => source.fmt(f),
        }
    }
}

/// What the program does about a failed cache operation, for the warning.
fn consequence(op: &str) -> &'static str {
    match op {
        "store" => "could not store the computed value (it was returned, uncached)",
        "load" => "could not read the cache; computing without it",
        "lock" => "could not lock the entry across processes; computing without the lock",
        "reentry" => "computing without the cache",
        _ => "the cache is unavailable; computing without it",
    }
}

fn hash_file(path: &Path) -> Option<Digest> {
    std::fs::read(path)
        .ok()
        .map(|bytes| Digest::of_bytes(&bytes))
}
