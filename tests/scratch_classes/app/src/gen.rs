macro_rules! make_fn {
    ($name:ident, $v:expr) => {
        pub fn $name() -> u64 {
            $v
        }
    };
}

make_fn!(seven, 7);
