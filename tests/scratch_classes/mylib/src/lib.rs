//! The workspace library of the classes scratch: a rename chain ends here.

mod inner {
    pub fn f() -> u64 {
        1
    }
}

pub use inner::f as run;

pub fn unrelated_in_lib() -> u64 {
    1
}
