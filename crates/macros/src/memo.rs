//! Whether the call may remember decoded values of hits (`checkpointer_core::decoded`), and
//! the tokens that pick the memo.
//!
//! The runtime picks by autoref specialization on the stored type (`Clone + 'static`). That
//! choice is made at type-checking, where a type with a lifetime could be picked as `Clone` and
//! then fail the `'static` bound in borrow checking: a compile error in the user's code. So
//! the probe is emitted only for types that are `'static` whenever they are well formed, as
//! far as the syntax shows; anything else passes `None` (every hit decodes, as before).

use proc_macro2::TokenStream;
use quote::quote;
use std::collections::HashSet;
use syn::visit::Visit;
use syn::{GenericParam, Generics, Type};

/// `None`, or the expression that yields `Option<Memo<stored>>`.
pub fn probe(stored: &Type, generics: &Generics, in_impl: bool) -> TokenStream {
    let p = quote!(::checkpointer::__private);
    if !surely_static(stored, generics, in_impl) {
        return quote!(::core::option::Option::None);
    }
    quote!({
        #[allow(unused_imports)]
        use #p::{ViaClone as _, ViaNothing as _};
        let probe = &&#p::MemoProbe::<#stored>::NEW;
        probe.memo()
    })
}

/// Whether `ty` is `'static` whenever it is well formed: no lifetime, reference, `impl`,
/// `dyn`, inferred type, macro, `Self`, or generic parameter of the function. In an impl, the
/// impl's own parameters are invisible here, so only types built from the standard library's
/// owned types (below) pass.
fn surely_static(ty: &Type, generics: &Generics, in_impl: bool) -> bool {
    let params: HashSet<String> = generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.to_string()),
            GenericParam::Const(c) => Some(c.ident.to_string()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let mut check = Check {
        params,
        in_impl,
        ok: true,
    };
    check.visit_type(ty);
    check.ok
}

/// Owned standard-library types (and their usual paths' segments) accepted in an impl.
const STD_OWNED: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "bool",
    "char",
    "String",
    "Vec",
    "VecDeque",
    "Option",
    "Box",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "std",
    "alloc",
    "core",
    "collections",
    "string",
    "vec",
    "option",
    "boxed",
    "PathBuf",
    "path",
    "Duration",
    "time",
];

struct Check {
    params: HashSet<String>,
    in_impl: bool,
    ok: bool,
}

impl<'ast> Visit<'ast> for Check {
    fn visit_type(&mut self, ty: &'ast Type) {
        match ty {
            Type::Reference(_)
            | Type::ImplTrait(_)
            | Type::TraitObject(_)
            | Type::Infer(_)
            | Type::Macro(_)
            | Type::Verbatim(_)
            | Type::Ptr(_)
            | Type::BareFn(_) => self.ok = false,
            _ => syn::visit::visit_type(self, ty),
        }
    }

    fn visit_lifetime(&mut self, _: &'ast syn::Lifetime) {
        self.ok = false;
    }

    fn visit_type_path(&mut self, tp: &'ast syn::TypePath) {
        if tp.qself.is_some() {
            // `<T as Trait>::Assoc`: whatever it names is not visible here.
            self.ok = false;
        }
        syn::visit::visit_type_path(self, tp);
    }

    fn visit_path_segment(&mut self, seg: &'ast syn::PathSegment) {
        let name = seg.ident.to_string();
        if name == "Self" || self.params.contains(&name) {
            self.ok = false;
        }
        if self.in_impl && !STD_OWNED.contains(&name.as_str()) {
            self.ok = false;
        }
        syn::visit::visit_path_segment(self, seg);
    }

    fn visit_expr(&mut self, _: &'ast syn::Expr) {
        // Array lengths and const arguments: values, not types; a const parameter's name is
        // caught as a path segment when it stands alone as a generic argument.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn ok(ty: Type, generics: Generics, in_impl: bool) -> bool {
        surely_static(&ty, &generics, in_impl)
    }

    #[test]
    fn static_types_only() {
        let none: Generics = parse_quote!();
        assert!(ok(parse_quote!(u64), none.clone(), false));
        assert!(ok(
            parse_quote!(Vec<(String, [f32; 3])>),
            none.clone(),
            false
        ));
        assert!(ok(parse_quote!(my::Record), none.clone(), false));
        assert!(ok(
            parse_quote!(Option<std::collections::HashMap<String, u8>>),
            none.clone(),
            true
        ));
        for bad in [
            parse_quote!(&'static str),
            parse_quote!(Cow<'a, str>),
            parse_quote!(Wrapper<'_>),
            parse_quote!(Box<dyn Fn()>),
            parse_quote!(<T as Trait>::Out),
            parse_quote!(Self),
            parse_quote!(Vec<Self>),
            parse_quote!(fn() -> u8),
        ] {
            assert!(!ok(bad, none.clone(), false));
        }
        let g: Generics = parse_quote!(<T: Clone, const N: usize>);
        assert!(!ok(parse_quote!(Vec<T>), g.clone(), false));
        assert!(!ok(parse_quote!(Matrix<N>), g.clone(), false));
        assert!(ok(parse_quote!([u8; N]), g, false), "a length is a value");
        // In an impl, the impl's parameters cannot be seen: user types are refused.
        assert!(!ok(parse_quote!(Record), none.clone(), true));
        assert!(!ok(parse_quote!(Vec<Item>), none, true));
    }
}
