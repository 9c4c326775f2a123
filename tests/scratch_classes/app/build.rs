// Passes the contents of stamp.txt to the crate as `env!("APP_STAMP")`.
fn main() {
    println!("cargo:rerun-if-changed=stamp.txt");
    let stamp = std::fs::read_to_string("stamp.txt").unwrap_or_default();
    println!("cargo:rustc-env=APP_STAMP={}", stamp.trim());
}
