fn shared() -> u64 {
    10
}
