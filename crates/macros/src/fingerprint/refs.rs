//! What a piece of code names: the references the closure follows.
//!
//! Resolution is by name (see `resolve.rs`), so this only records names and the little
//! context that narrows them: the segment before the last one of a path (`Type::item`), and
//! whether a name is called as a method. Macro arguments are unparsed tokens, so every
//! identifier inside a macro invocation (and every `{name}` inside a string literal there,
//! for inline format arguments) is recorded as a *loose* name, which resolves to anything so
//! named.

use proc_macro2::{TokenStream, TokenTree};
use std::collections::BTreeSet;
use syn::visit::{self, Visit};

/// The names a unit of code refers to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refs {
    /// Single-segment paths (`helper`, `LIMIT`, `Point`) and the qualifier of longer paths
    /// (`Shape` in `Shape::Circle`): free items so named.
    pub names: BTreeSet<String>,
    /// `(qualifier, name)` of paths with two or more segments (`Point::new`,
    /// `helpers::compute`): free items named `name`, plus associated items of `qualifier`.
    pub qualified: BTreeSet<(String, String)>,
    /// Method calls (`x.area()`) and `<T>::name`: associated items so named, of any type.
    pub methods: BTreeSet<String>,
    /// Identifiers inside macro invocations and attributes: anything so named.
    pub loose: BTreeSet<String>,
    /// Macros invoked (`name!`).
    pub macros: BTreeSet<String>,
    /// Traits named as bounds (`T: Display`, `impl Trait`, `dyn Trait`): a generic or
    /// dynamic call may reach *any* impl of them, whatever the type.
    pub bounds: BTreeSet<String>,
}

impl Refs {
    /// Adds every reference of `other`.
    pub fn extend(&mut self, other: Refs) {
        self.names.extend(other.names);
        self.qualified.extend(other.qualified);
        self.methods.extend(other.methods);
        self.loose.extend(other.loose);
        self.macros.extend(other.macros);
        self.bounds.extend(other.bounds);
    }

    /// Every name of every kind, for lookups that do not care how a name is used.
    pub fn all_names(&self) -> impl Iterator<Item = &String> {
        self.names
            .iter()
            .chain(self.qualified.iter().flat_map(|(q, n)| [q, n]))
            .chain(&self.methods)
            .chain(&self.loose)
            .chain(&self.macros)
            .chain(&self.bounds)
    }

    /// References of any syntax node.
    pub fn of<T: VisitNode + ?Sized>(node: &T) -> Refs {
        let mut c = Collector::default();
        node.visit_with(&mut c);
        c.refs
    }

    /// Every identifier of `tokens` (and the `{name}`s of its string literals) as loose names.
    pub fn add_loose_tokens(&mut self, tokens: TokenStream) {
        self.add_loose(tokens, false);
    }

    /// Loose names of macro arguments (`attribute`: an attribute's arguments, where a
    /// path-like string names code, as serde's `with = "m"` does). Pieces that `paste!`
    /// joins (`[<get_ seven>]`) also count joined.
    fn add_loose(&mut self, tokens: TokenStream, attribute: bool) {
        for tt in tokens {
            match tt {
                TokenTree::Ident(id) => {
                    self.loose.insert(unraw(&id.to_string()));
                }
                TokenTree::Group(g) => {
                    if g.delimiter() == proc_macro2::Delimiter::Bracket {
                        if let Some(joined) = pasted(&g.stream()) {
                            self.loose.insert(joined);
                        }
                    }
                    self.add_loose(g.stream(), attribute)
                }
                TokenTree::Literal(lit) => self.add_literal_names(&lit.to_string(), attribute),
                TokenTree::Punct(_) => {}
            }
        }
    }

    /// Names inside a string literal that may refer to code: inline format arguments
    /// (`"{count}"`, `"{LIMIT:>4}"`) and whole paths (`"default_port"`, `"my::module"`, as
    /// serde's `default = "…"` and `with = "…"` take them).
    fn add_literal_names(&mut self, lit: &str, attribute: bool) {
        let Some(body) = string_body(lit) else { return };
        // A path-like literal: every segment is an identifier.
        if attribute && !body.is_empty() && body.split("::").all(is_ident) {
            for seg in body.split("::") {
                self.loose.insert(seg.to_string());
            }
            return;
        }
        let bytes = body.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'{' {
                if bytes.get(i + 1) == Some(&b'{') {
                    i += 2;
                    continue;
                }
                let start = i + 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                let name = &body[start..end];
                if is_ident(name) {
                    self.loose.insert(name.to_string());
                }
                i = end;
            } else {
                i += 1;
            }
        }
    }
}

/// The name `paste!` makes of `[< a b_ c >]`: the identifiers joined, when every piece is
/// an identifier or a literal.
fn pasted(stream: &TokenStream) -> Option<String> {
    let trees: Vec<TokenTree> = stream.clone().into_iter().collect();
    let (first, last) = (trees.first()?, trees.last()?);
    let is = |t: &TokenTree, c: char| matches!(t, TokenTree::Punct(p) if p.as_char() == c);
    if trees.len() < 3 || !is(first, '<') || !is(last, '>') {
        return None;
    }
    let mut out = String::new();
    for t in &trees[1..trees.len() - 1] {
        match t {
            TokenTree::Ident(id) => out.push_str(&unraw(&id.to_string())),
            TokenTree::Literal(l) => out.push_str(l.to_string().trim_matches('"')),
            _ => return None,
        }
    }
    Some(out)
}

/// The contents of a string literal token (`"…"`, `r"…"`, `r#"…"#`, `b"…"`, `c"…"`).
fn string_body(lit: &str) -> Option<&str> {
    let lit = lit.trim_start_matches(['b', 'c']);
    let lit = lit
        .strip_prefix('r')
        .map(|s| s.trim_matches('#'))
        .unwrap_or(lit);
    lit.strip_prefix('"')?.strip_suffix('"')
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && s != "_"
}

/// `r#type` → `type`: items are indexed by their plain names, in Unicode normal form C
/// (as rustc compares identifiers).
pub fn unraw(s: &str) -> String {
    let s = s.strip_prefix("r#").unwrap_or(s);
    if s.is_ascii() {
        s.to_string()
    } else {
        use unicode_normalization::UnicodeNormalization;
        s.nfc().collect()
    }
}

/// Syntax nodes `Refs::of` accepts.
pub trait VisitNode {
    /// Runs the collector over the node.
    fn visit_with(&self, c: &mut Collector);
}

macro_rules! visit_node {
    ($($ty:ty => $method:ident),* $(,)?) => {
        $(impl VisitNode for $ty {
            fn visit_with(&self, c: &mut Collector) {
                c.$method(self);
            }
        })*
    };
}

/// A function's references without its parameters' names: a parameter shadows any item of
/// that name in the whole body (`fn fmt(&self, f: …) { write!(f, …) }` does not use a
/// function `f`). Nested items are units of their own.
fn visit_fn(c: &mut Collector, sig: &syn::Signature, visit: impl FnOnce(&mut Collector)) {
    let mut inner = Collector::default();
    visit(&mut inner);
    let mut params = Vec::new();
    for input in &sig.inputs {
        if let syn::FnArg::Typed(t) = input {
            pattern_bindings(&t.pat, &mut params);
        }
    }
    for p in &params {
        inner.refs.names.remove(p);
        inner.refs.loose.remove(p);
    }
    c.refs.extend(inner.refs);
}

/// Identifiers a pattern binds (`x`, `(a, b)`, `Point { x, y: py }`, `ref mut z`).
fn pattern_bindings(p: &syn::Pat, out: &mut Vec<String>) {
    use syn::Pat;
    match p {
        Pat::Ident(i) => {
            out.push(unraw(&i.ident.to_string()));
            if let Some((_, sub)) = &i.subpat {
                pattern_bindings(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|e| pattern_bindings(e, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|e| pattern_bindings(e, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| pattern_bindings(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|e| pattern_bindings(e, out)),
        Pat::Reference(r) => pattern_bindings(&r.pat, out),
        Pat::Paren(p) => pattern_bindings(&p.pat, out),
        Pat::Type(t) => pattern_bindings(&t.pat, out),
        _ => {}
    }
}

impl VisitNode for syn::Item {
    fn visit_with(&self, c: &mut Collector) {
        match self {
            syn::Item::Fn(f) => visit_fn(c, &f.sig, |c| c.visit_item(self)),
            _ => c.visit_item(self),
        }
    }
}

impl VisitNode for syn::ItemFn {
    fn visit_with(&self, c: &mut Collector) {
        visit_fn(c, &self.sig, |c| c.visit_item_fn(self))
    }
}

impl VisitNode for syn::ImplItem {
    fn visit_with(&self, c: &mut Collector) {
        match self {
            syn::ImplItem::Fn(f) => visit_fn(c, &f.sig, |c| c.visit_impl_item(self)),
            _ => c.visit_impl_item(self),
        }
    }
}

impl VisitNode for syn::TraitItem {
    fn visit_with(&self, c: &mut Collector) {
        match self {
            syn::TraitItem::Fn(f) => visit_fn(c, &f.sig, |c| c.visit_trait_item(self)),
            _ => c.visit_trait_item(self),
        }
    }
}

visit_node! {
    syn::Signature => visit_signature,
    syn::Generics => visit_generics,
    syn::Type => visit_type,
    syn::Path => visit_path,
    syn::Expr => visit_expr,
    syn::Attribute => visit_attribute,
}

/// The visitor behind [`Refs::of`].
#[derive(Default)]
pub struct Collector {
    refs: Refs,
}

impl Collector {
    fn path(&mut self, path: &syn::Path, qself: Option<&syn::QSelf>) {
        let segs: Vec<String> = path
            .segments
            .iter()
            .map(|s| unraw(&s.ident.to_string()))
            .collect();
        match (qself, segs.as_slice()) {
            (_, []) => {}
            // `<T>::name`: an associated item of some type.
            (Some(q), [.., last]) if q.position == 0 => {
                self.refs.methods.insert(last.clone());
            }
            (_, [only]) => {
                self.refs.names.insert(only.clone());
            }
            (_, [.., q, last]) => {
                self.refs.names.insert(q.clone());
                self.refs.qualified.insert((q.clone(), last.clone()));
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.path(p, None);
        visit::visit_path(self, p);
    }

    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        if let Some(q) = &e.qself {
            self.path(&e.path, Some(q));
            self.visit_qself(q);
            for seg in &e.path.segments {
                self.visit_path_segment(seg);
            }
            return;
        }
        visit::visit_expr_path(self, e);
    }

    fn visit_type_path(&mut self, t: &'ast syn::TypePath) {
        if let Some(q) = &t.qself {
            self.path(&t.path, Some(q));
            self.visit_qself(q);
            for seg in &t.path.segments {
                self.visit_path_segment(seg);
            }
            return;
        }
        visit::visit_type_path(self, t);
    }

    fn visit_trait_bound(&mut self, b: &'ast syn::TraitBound) {
        if let Some(last) = b.path.segments.last() {
            self.refs.bounds.insert(unraw(&last.ident.to_string()));
        }
        visit::visit_trait_bound(self, b);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        self.refs.methods.insert(unraw(&m.method.to_string()));
        visit::visit_expr_method_call(self, m);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let segs: Vec<String> = m
            .path
            .segments
            .iter()
            .map(|s| unraw(&s.ident.to_string()))
            .collect();
        if let Some((last, path)) = segs.split_last() {
            self.refs.macros.insert(last.clone());
            // `serde_json::json!` names the crate `serde_json`.
            self.refs.names.extend(path.iter().cloned());
        }
        // Its arguments are unparsed tokens.
        self.refs.add_loose(m.tokens.clone(), false);
    }

    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        // `LIMIT =>`, `High =>`: syn cannot tell a binding from a const or a variant.
        self.refs.names.insert(unraw(&p.ident.to_string()));
        syn::visit::visit_pat_ident(self, p);
    }

    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        // Doc text is not code; every other attribute may name code (`#[serde(with = "m")]`,
        // `#[checkpoint(deps(helper))]`), so its identifiers count loosely.
        if a.path().is_ident("doc") {
            return;
        }
        // `#[checkpoint(…)]` itself names our macro, not user code; its options do.
        let ours = a
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "checkpoint");
        if !ours {
            self.visit_path(a.path());
        }
        match &a.meta {
            syn::Meta::Path(_) => {}
            syn::Meta::List(l) => self.refs.add_loose(l.tokens.clone(), true),
            syn::Meta::NameValue(nv) => self.visit_expr(&nv.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_calls_methods_types_and_literals() {
        let f: syn::ItemFn = syn::parse_quote! {
            fn f(p: &geo::Point, n: Count) -> Vec<Output> {
                let s = Shape::Circle { r: LIMIT };
                let v = helpers::compute(p.norm(), <T>::make(), <T as Conv>::conv(n));
                Output { v }
            }
        };
        let r = Refs::of(&f);
        assert!(r.qualified.contains(&("geo".into(), "Point".into())));
        for n in [
            "geo", "Count", "Vec", "Output", "Shape", "LIMIT", "helpers", "Conv",
        ] {
            assert!(r.names.contains(n), "{n} missing from {:?}", r.names);
        }
        assert!(r.qualified.contains(&("Shape".into(), "Circle".into())));
        assert!(r.qualified.contains(&("helpers".into(), "compute".into())));
        assert!(r.qualified.contains(&("Conv".into(), "conv".into())));
        assert_eq!(r.methods, set(&["make", "norm"]));
    }

    #[test]
    fn macro_arguments_and_format_strings_are_loose_names() {
        let f: syn::ItemFn = syn::parse_quote! {
            fn f() {
                println!("{count} {LIMIT:>4} {{escaped}} {}", x.area());
                my_macro!(a => helper);
            }
        };
        let r = Refs::of(&f);
        assert_eq!(r.macros, set(&["my_macro", "println"]));
        for n in ["count", "LIMIT", "x", "area", "a", "helper"] {
            assert!(r.loose.contains(n), "{n} missing from {:?}", r.loose);
        }
        assert!(!r.loose.contains("escaped"));
    }

    #[test]
    fn attributes_name_code_but_docs_do_not() {
        let f: syn::ItemStruct = syn::parse_quote! {
            /// Uses `ignored_doc_name`.
            #[serde(default = "default_port", with = "wire::codec")]
            struct S { #[cfg(feature = "x")] a: u8 }
        };
        let r = Refs::of(&syn::Item::Struct(f));
        for n in ["default_port", "wire", "codec", "serde"] {
            assert!(
                r.loose.contains(n) || r.names.contains(n),
                "{n} missing: {r:?}"
            );
        }
        assert!(!r.loose.contains("ignored_doc_name"));
    }

    #[test]
    fn parameters_shadow_items_of_their_name() {
        let f: syn::ItemFn = syn::parse_quote! {
            fn fmt(&self, f: &mut Formatter, (a, Point { x, .. }): (u8, Point)) -> Result {
                write!(f, "{}", a + x + helper())
            }
        };
        let r = Refs::of(&f);
        for n in ["f", "a", "x"] {
            assert!(!r.names.contains(n) && !r.loose.contains(n), "{n}: {r:?}");
        }
        assert!(
            r.loose.contains("helper") && r.names.contains("Point"),
            "{r:?}"
        );
    }

    #[test]
    fn raw_identifiers_are_unrawed() {
        let e: syn::Expr = syn::parse_quote!(r#match(1));
        assert!(Refs::of(&e).names.contains("match"));
    }
}
