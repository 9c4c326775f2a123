use checkpointer::ObjectHash;

#[derive(ObjectHash)]
struct Query {
    text: String,
    #[hash(skp)]
    scratch: Vec<u8>,
}

fn main() {}
