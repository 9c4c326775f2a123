use checkpointer::checkpoint;

pub fn outer() -> u64 {
    const K: u64 = 1;
    fn local() -> u64 {
        K + 1
    }
    #[checkpoint]
    fn helper() -> u64 {
        println!("RAN helper1");
        local()
    }
    helper()
}

pub fn outer2() -> u64 {
    const K: u64 = 2;
    fn local() -> u64 {
        K + 1
    }
    #[checkpoint]
    fn helper() -> u64 {
        println!("RAN helper2");
        local()
    }
    helper()
}
