//! The function identity hash: blake3 of the function's normalized tokens.
//!
//! Normalization makes the hash depend on what the code *is*, not how it is laid out:
//! `TokenStream` already drops comments and whitespace; on top of that, doc attributes
//! (`///`, `//!`, `#[doc = …]`) are removed at every depth, a trailing comma before a
//! closing delimiter is dropped, and tokens are joined by single spaces.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Version prefix of the identity input: bump it when normalization changes.
const IDENTITY_VERSION: &str = "checkpointer-identity-v1";

/// The identity of a function: 64 lowercase hex characters.
pub fn identity(function: TokenStream, options: TokenStream) -> String {
    let mut text = String::from(IDENTITY_VERSION);
    text.push_str(" fn ");
    normalize_into(function, &mut text);
    text.push_str(" options ");
    normalize_into(options, &mut text);
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
/// The normalized text of `tokens` (see the module documentation).
pub fn normalize(tokens: TokenStream) -> String {
    let mut out = String::new();
    normalize_into(tokens, &mut out);
    out
}

fn normalize_into(tokens: TokenStream, out: &mut String) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        // `#[doc …]` and `#![doc …]`: skip the whole attribute.
        if let Some(len) = doc_attribute_len(&tokens[i..]) {
            i += len;
            continue;
        }
        let tt = &tokens[i];
        // A trailing comma before the end of a delimited group is layout, not code.
        let is_trailing_comma =
            matches!(tt, TokenTree::Punct(p) if p.as_char() == ',') && i + 1 == tokens.len();
        if !is_trailing_comma {
            match tt {
                TokenTree::Group(g) => {
                    let (open, close) = match g.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("", ""),
                    };
                    push_word(out, open);
                    normalize_into(g.stream(), out);
                    push_word(out, close);
                }
                other => push_word(out, &other.to_string()),
            }
        }
        i += 1;
    }
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

/// If `tokens` starts with a doc attribute, its length in token trees.
fn doc_attribute_len(tokens: &[TokenTree]) -> Option<usize> {
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
        Some(TokenTree::Ident(id)) if id == "doc" => Some(2 + bang),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn layout_comments_and_docs_do_not_count() {
        let a = quote! {
            /// Squares.
            fn square(x: u64,) -> u64 { x * x }
        };
        let b = quote! {
            #[doc = "Other docs"]
            fn square(
                x: u64
            ) -> u64 {
                #![doc = "inner"]
                x*x
            }
        };
        // Punctuation is never glued, so `a - -b` and `a --b` stay alike.
        assert_eq!(
            normalize(a.clone()),
            "fn square ( x : u64 ) - > u64 { x * x }"
        );
        assert_eq!(
            identity(a, TokenStream::new()),
            identity(b, TokenStream::new())
        );
    }

    #[test]
    fn code_and_other_attributes_count() {
        let a = quote! { fn f(x: u64) -> u64 { x + 1 } };
        let b = quote! { fn f(x: u64) -> u64 { x + 2 } };
        let c = quote! { #[inline] fn f(x: u64) -> u64 { x + 1 } };
        assert_ne!(
            identity(a.clone(), TokenStream::new()),
            identity(b, TokenStream::new())
        );
        assert_ne!(
            identity(a.clone(), TokenStream::new()),
            identity(c, TokenStream::new())
        );
        assert_ne!(
            identity(a.clone(), TokenStream::new()),
            identity(a, quote!(deps(helper)))
        );
    }

    #[test]
    fn only_the_last_comma_of_a_group_is_dropped() {
        assert_eq!(normalize(quote!((a, b,))), "( a , b )");
        assert_eq!(normalize(quote!([1, 2, 3])), "[ 1 , 2 , 3 ]");
    }
}
