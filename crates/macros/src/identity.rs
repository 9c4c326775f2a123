//! The function's own identity: blake3 of its normalized tokens and identity options.
//!
//! This is the root every dependency-aware identity starts from, and the whole identity when
//! the crate's sources cannot be read (see `fingerprint::own_tokens_only`). Normalization
//! (docs, comments, layout and trailing commas do not count) lives in `fingerprint::normalize`.

use crate::fingerprint::normalize::normalize_into;
use proc_macro2::TokenStream;

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
mod tests {
    use super::*;
    use crate::fingerprint::normalize::normalize;
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
        assert_eq!(
            normalize(a.clone()),
            "fn square ( x : u64 ) -> u64 { x * x }"
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
        let c = quote! { #[cfg(test)] fn f(x: u64) -> u64 { x + 1 } };
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
