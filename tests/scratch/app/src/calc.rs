//! `two_down` → `first` → `deep::second`, in another file.

pub mod deep;

pub fn first(x: u64) -> u64 {
    deep::second(x) + 1
}
