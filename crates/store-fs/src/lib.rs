//! checkpointer storage backend (skeleton).
