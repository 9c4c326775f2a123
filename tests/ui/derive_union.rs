use checkpointer::ObjectHash;

#[derive(ObjectHash)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
