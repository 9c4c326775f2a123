//! The identity hash: the function's tokens, not its layout. Comments, doc comments,
//! formatting and trailing commas do not change it; a changed body does.

mod plain {
    use checkpointer::checkpoint;

    #[checkpoint(storage = "memory", verbosity = 0)]
    pub fn add(a: u32, b: u32) -> u32 {
        let sum = a + b;
        sum * 2
    }
}

// Kept as written: the layout is what this test is about.
#[rustfmt::skip]
mod reformatted {
    use checkpointer::checkpoint;

    /// Doc comments do not count.
    ///
    /// Not even long ones.
    #[checkpoint(storage = "memory", verbosity = 0)]
    pub fn   add(
        a :u32,
        b: u32, // trailing comma and a comment
    )   -> u32
    {
        //! An inner doc comment.
        /* a block comment */
        let sum = a+b;
        sum*2
    }
}

mod edited {
    use checkpointer::checkpoint;

    #[checkpoint(storage = "memory", verbosity = 0)]
    pub fn add(a: u32, b: u32) -> u32 {
        let sum = a + b;
        sum * 3
    }
}

mod other_options {
    use checkpointer::checkpoint;

    // Options that do not change what a result means do not count.
    #[checkpoint(storage = "fs", verbosity = 2, expiry = "1d", on_error = "ignore")]
    pub fn add(a: u32, b: u32) -> u32 {
        let sum = a + b;
        sum * 2
    }
}

#[test]
fn layout_comments_and_docs_do_not_change_the_identity() {
    // The function's own part of the identity (its tokens and identity options); the whole
    // identity also covers the `mod` declaration around it, which differs by name here.
    let own = |items: &'static [(&'static str, &'static str)]| items[0].1;
    assert_eq!(
        own(plain::add::handle().identity_items()),
        own(reformatted::add::handle().identity_items())
    );
    assert_eq!(
        own(plain::add::handle().identity_items()),
        own(other_options::add::handle().identity_items())
    );
}

#[test]
fn a_changed_body_changes_the_identity() {
    assert_ne!(
        plain::add::handle().identity(),
        edited::add::handle().identity()
    );
}

#[test]
fn identity_items_name_the_function() {
    // The function itself first (path, short hash of its tokens), then what it depends on:
    // `add` calls nothing, so only the `mod` declaration it lives in.
    let items = plain::add::handle().identity_items();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].0, "macro_identity::plain::add");
    assert_eq!(items[1].0, "macro_identity::plain");
    assert_eq!(items[0].1.len(), 12);
    assert!(items[0].1.bytes().all(|b| b.is_ascii_hexdigit()));
}
