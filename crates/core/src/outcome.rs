//! How a function's return value maps to what is cached: the `Result`/`Option` rules.
//!
//! The macro wraps the body's value in one of these, chosen from the return type's syntax:
//! `Result<T, E>` (any path ending in `Result`) caches only `Ok(T)`; everything else,
//! `Option<T>` included, caches the whole value.

use crate::CheckpointError;

/// A return value, seen by the cache.
pub trait Outcome: Sized {
    /// What is stored and loaded. No serde bound here: the macro checks it once, at the
    /// return type, through [`crate::Storable`].
    type Value;
    /// The value to store, or `None` when this outcome is not cached (an `Err`).
    fn cacheable(&self) -> Option<&Self::Value>;
    /// The outcome for a loaded value.
    fn from_value(value: Self::Value) -> Self;
    /// The outcome for a cache failure under `on_error = "raise"`, if the type can carry one.
    fn from_error(error: CheckpointError) -> Result<Self, CheckpointError> {
        Err(error)
    }
}

/// A plain return type: the whole value is cached (`Option<T>` caches `Some` and `None`).
pub struct Plain<T>(pub T);

impl<T> Outcome for Plain<T> {
    type Value = T;
    #[inline]
    fn cacheable(&self) -> Option<&T> {
        Some(&self.0)
    }
    #[inline]
    fn from_value(value: T) -> Self {
        Plain(value)
    }
}

/// A `Result<T, E>`: only `Ok` is cached; errors are returned and retried next call.
pub struct OkOnly<T, E>(pub Result<T, E>);

impl<T, E> Outcome for OkOnly<T, E> {
    type Value = T;
    #[inline]
    fn cacheable(&self) -> Option<&T> {
        self.0.as_ref().ok()
    }
    #[inline]
    fn from_value(value: T) -> Self {
        OkOnly(Ok(value))
    }
}

/// A `Result<T, E>` under `on_error = "raise"`: cache failures become `Err(E::from(error))`.
pub struct OkOrRaise<T, E>(pub Result<T, E>);

impl<T, E: From<CheckpointError>> Outcome for OkOrRaise<T, E> {
    type Value = T;
    #[inline]
    fn cacheable(&self) -> Option<&T> {
        self.0.as_ref().ok()
    }
    #[inline]
    fn from_value(value: T) -> Self {
        OkOrRaise(Ok(value))
    }
    fn from_error(error: CheckpointError) -> Result<Self, CheckpointError> {
        Ok(OkOrRaise(Err(E::from(error))))
    }
}
