//! Normalized token text: what the identity hashes instead of the source text.
//!
//! `TokenStream` has no comments or whitespace to begin with. On top of that, doc attributes
//! (`///`, `//!`, `#[doc = …]`) are dropped at every depth — except inside a macro
//! invocation, whose arguments a macro may turn into values (`#[doc = $d:literal]`) — as is a
//! comma that ends a
//! delimited group — except the one of a one-element tuple, `(a,)`, which is not `(a)` —
//! and tokens are joined by single spaces, except joint punctuation (`&&` stays apart from
//! `& &`). Everything else counts, `#[cfg]` and other attributes included.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// The normalized text of `tokens`.
pub fn normalize(tokens: TokenStream) -> String {
    let mut out = String::new();
    normalize_into(tokens, &mut out);
    out
}

/// Appends the normalized text of `tokens` to `out`.
pub fn normalize_into(tokens: TokenStream, out: &mut String) {
    normalize_group(tokens, true, false, out);
}

/// [`normalize_into`], keeping doc comments when `keep_docs`: for items whose derives or
/// attribute macros may read them (clap's help text, schemars' descriptions).
pub fn normalize_with(tokens: TokenStream, keep_docs: bool, out: &mut String) {
    normalize_group(tokens, true, keep_docs, out);
}

/// `drop_comma`: whether a comma ending this group is layout (see [`trailing_comma_is_layout`]).
/// `in_macro`: the group is (inside) a macro invocation's arguments, where docs are data.
fn normalize_group(tokens: TokenStream, drop_comma: bool, in_macro: bool, out: &mut String) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    // The previous token was a joint punct: the next punct belongs to the same operator.
    let mut glued = false;
    while i < tokens.len() {
        if let Some(len) = doc_attribute_len(&tokens[i..])
            .or_else(|| harmless_attribute_len(&tokens[i..]))
            .filter(|_| !in_macro)
        {
            i += len;
            glued = false;
            continue;
        }
        let last = i + 1 == tokens.len();
        match &tokens[i] {
            TokenTree::Punct(p) if p.as_char() == ',' && last && drop_comma => {}
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                push_word(out, open);
                let drop = trailing_comma_is_layout(g.delimiter(), &g.stream(), &tokens[..i]);
                let invocation = matches!(
                    &tokens[..i],
                    [.., TokenTree::Ident(_), TokenTree::Punct(p)] if p.as_char() == '!'
                ) || matches!(
                    &tokens[..i],
                    [.., TokenTree::Ident(_), TokenTree::Punct(p), TokenTree::Ident(_)] if p.as_char() == '!'
                );
                normalize_group(g.stream(), drop, in_macro || invocation, out);
                push_word(out, close);
            }
            TokenTree::Punct(p) => {
                let mut buf = [0u8; 4];
                let ch = p.as_char().encode_utf8(&mut buf);
                // A lifetime's quote starts a word even after a joint punct (`&'a`).
                if glued && p.as_char() != '\'' {
                    out.push_str(ch);
                } else {
                    push_word(out, ch);
                }
            }
            TokenTree::Ident(id) if matches!(i.checked_sub(1).map(|j| &tokens[j]), Some(TokenTree::Punct(q)) if q.as_char() == '\'') =>
            {
                out.push_str(&id.to_string());
            }
            other => push_word(out, &other.to_string()),
        }
        glued = matches!(&tokens[i], TokenTree::Punct(p) if p.spacing() == Spacing::Joint && p.as_char() != '\'');
        i += 1;
    }
}

/// Whether a comma ending a group is layout (rustfmt adds and removes it) rather than code.
///
/// It is code only in a one-element tuple — expression, pattern or type — `(a,)`: a
/// parenthesis group with no other top-level comma that is not a call's argument list or a
/// function's parameter list (those follow a name, a `)`, a `]` or a turbofish `>`).
fn trailing_comma_is_layout(
    delimiter: Delimiter,
    stream: &TokenStream,
    before: &[TokenTree],
) -> bool {
    if delimiter != Delimiter::Parenthesis {
        return true;
    }
    let commas = stream
        .clone()
        .into_iter()
        .filter(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
        .count();
    if commas != 1 {
        return true;
    }
    match before {
        [.., TokenTree::Ident(id)] => !is_keyword(&id.to_string()),
        [.., TokenTree::Group(g)] => g.delimiter() != Delimiter::Brace,
        [.., prev, TokenTree::Punct(p)] if p.as_char() == '>' => {
            !matches!(prev, TokenTree::Punct(q) if matches!(q.as_char(), '-' | '=' | '<' | '>'))
        }
        _ => false,
    }
}

pub(super) fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "as" | "async"
            | "await"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "yield"
            | "become"
    )
}

fn push_word(out: &mut String, word: &str) {
    if word.is_empty() {
        return;
    }
    if !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
    out.push_str(word);
}

/// If `tokens` starts with an attribute that cannot change what code computes — lints
/// (`allow`, `warn`, `deny`, `forbid`, `expect`, `clippy::…`), `inline`, `cold`,
/// `must_use`, `rustfmt::…` — its length in trees.
fn harmless_attribute_len(tokens: &[TokenTree]) -> Option<usize> {
    attribute_len(tokens, |name| {
        matches!(
            name,
            "allow"
                | "warn"
                | "deny"
                | "forbid"
                | "expect"
                | "inline"
                | "cold"
                | "must_use"
                | "rustfmt"
                | "clippy"
        )
    })
}

/// If `tokens` starts with a doc attribute (`#[doc …]` or `#![doc …]`), its length in trees.
fn doc_attribute_len(tokens: &[TokenTree]) -> Option<usize> {
    attribute_len(tokens, |name| name == "doc")
}

/// If `tokens` starts with an attribute (`#[…]` or `#![…]`) whose first identifier `is`
/// accepts, its length in trees.
fn attribute_len(tokens: &[TokenTree], is: impl Fn(&str) -> bool) -> Option<usize> {
    let TokenTree::Punct(hash) = tokens.first()? else {
        return None;
    };
    if hash.as_char() != '#' {
        return None;
    }
    let (bang, group) = match tokens.get(1)? {
        TokenTree::Punct(p) if p.as_char() == '!' => (1, tokens.get(2)?),
        other => (0, other),
    };
    let TokenTree::Group(g) = group else {
        return None;
    };
    if g.delimiter() != Delimiter::Bracket {
        return None;
    }
    match g.stream().into_iter().next() {
        Some(TokenTree::Ident(id)) if is(&id.to_string()) => Some(2 + bang),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(src: &str) -> String {
        normalize(src.parse().unwrap())
    }

    #[test]
    fn layout_comments_docs_and_trailing_commas_do_not_count() {
        let a = norm("/// Squares.\nfn square(x: u64,) -> u64 { x * x }");
        let b = norm("#[doc = \"other\"]\nfn square(\n    x: u64 // the input\n) -> u64 {\n    #![doc = \"inner\"]\n    /* c */ x*x\n}");
        assert_eq!(a, "fn square ( x : u64 ) -> u64 { x * x }");
        assert_eq!(a, b);
    }

    #[test]
    fn docs_inside_macro_invocations_are_data() {
        assert_ne!(
            norm("m! { /// one\n fn f() {} }"),
            norm("m! { /// two\n fn f() {} }")
        );
        assert_ne!(
            norm("macro_rules! m { () => { #[doc = \"a\"] struct S; } }"),
            norm("macro_rules! m { () => { #[doc = \"b\"] struct S; } }")
        );
        assert_eq!(norm("/// one\nfn f() {}"), norm("/// two\nfn f() {}"));
    }

    #[test]
    fn operators_stay_whole() {
        assert_eq!(norm("a && b"), "a && b");
        assert_ne!(norm("a && b"), norm("a & &b"));
        assert_eq!(norm("x::<T>() -> &'a u8"), "x ::< T > ( ) -> & 'a u8");
        assert_eq!(
            norm("fn f<'a>(x: &'a u8) {}"),
            "fn f < 'a > ( x : & 'a u8 ) { }"
        );
    }

    #[test]
    fn cfg_attributes_and_code_count() {
        assert_ne!(norm("fn f() {}"), norm("#[cfg(test)] fn f() {}"));
        assert_ne!(norm("fn f() -> u8 { 1 }"), norm("fn f() -> u8 { 2 }"));
        assert_ne!(norm("fn f() -> u8 { a::b }"), norm("fn f() -> u8 { a:b }"));
    }

    #[test]
    fn only_the_comma_ending_a_group_is_dropped() {
        assert_eq!(norm("(a, b,)"), "( a , b )");
        assert_eq!(norm("[1, 2, 3]"), "[ 1 , 2 , 3 ]");
        assert_eq!(norm("f(a, (b,))"), "f ( a , ( b , ) )");
    }

    #[test]
    fn one_element_tuples_keep_their_comma_calls_and_parameters_do_not() {
        assert_eq!(norm("let t = (a,);"), "let t = ( a , ) ;");
        assert_eq!(
            norm("fn f() -> (u8,) { return (1,) }"),
            "fn f ( ) -> ( u8 , ) { return ( 1 , ) }"
        );
        assert_eq!(
            norm("match x { (a,) => (b,), }"),
            "match x { ( a , ) => ( b , ) }"
        );
        assert_eq!(
            norm("fn f(\n    x: u8,\n) { g(x,); s.m(x,); h::<u8>(x,); v[0](x,) }"),
            norm("fn f(x: u8) { g(x); s.m(x); h::<u8>(x); v[0](x) }")
        );
    }
}
