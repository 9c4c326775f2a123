//! A `macro_rules!` used by `with_macro`.

macro_rules! triple {
    ($e:expr) => {
        $e * 3
    };
}
