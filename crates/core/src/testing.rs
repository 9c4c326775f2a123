//! Conformance suite for `Storage` backends (being implemented).
