//! Syntax scans of a function body: the statics and consts it names (for the
//! `Checkpointer::capture()` preset) and whether it uses `Self` (it lives in an impl).

use proc_macro2::{TokenStream, TokenTree};
use std::collections::BTreeSet;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, Ident, Token};

/// Single-segment SCREAMING_CASE path expressions of `block` that are not bound locally,
/// in first-use order: the statics and consts `Checkpointer::capture()` hashes.
///
/// Names used only inside `unsafe` blocks are left out (a `static mut` cannot be borrowed
/// safely), and so are items declared inside the body (they are not in scope outside it).
pub fn screaming_names(block: &syn::Block, bound: &[Ident]) -> Vec<Ident> {
    let mut scan = Names {
        found: Vec::new(),
        local: bound.iter().map(Ident::to_string).collect(),
    };
    scan.visit_block(block);
    let local = scan.local;
    let mut seen = BTreeSet::new();
    scan.found
        .into_iter()
        .filter(|id| !local.contains(&id.to_string()) && seen.insert(id.to_string()))
        .collect()
}

fn is_screaming(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

struct Names {
    found: Vec<Ident>,
    local: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for Names {
    fn visit_expr_path(&mut self, e: &'ast syn::ExprPath) {
        if e.qself.is_none() && e.path.leading_colon.is_none() && e.path.segments.len() == 1 {
            let seg = &e.path.segments[0];
            if seg.arguments.is_none() && is_screaming(&seg.ident.to_string()) {
                self.found.push(seg.ident.clone());
            }
        }
        visit::visit_expr_path(self, e);
    }

    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.local.insert(p.ident.to_string());
        visit::visit_pat_ident(self, p);
    }

    fn visit_expr_unsafe(&mut self, _: &'ast syn::ExprUnsafe) {}

    fn visit_item(&mut self, item: &'ast syn::Item) {
        // A nested item is its own scope; only its name matters here.
        let name = match item {
            syn::Item::Const(i) => Some(&i.ident),
            syn::Item::Static(i) => Some(&i.ident),
            syn::Item::Fn(i) => Some(&i.sig.ident),
            syn::Item::Struct(i) => Some(&i.ident),
            syn::Item::Enum(i) => Some(&i.ident),
            _ => None,
        };
        if let Some(name) = name {
            self.local.insert(name.to_string());
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Most macros taking expressions (format!, vec!, assert_eq!) take them comma-separated.
        if m.path.is_ident("addr_of") || m.path.is_ident("addr_of_mut") {
            return;
        }
        if let Ok(args) = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }
}

/// Whether `tokens` name `Self`. With `in_body`, `Self` inside a nested `impl` or `trait`
/// item does not count (it is that item's own `Self`). Only code inside an impl or a trait
/// can name `Self`, so a function that does is not a free function.
pub fn uses_self_type(tokens: TokenStream, in_body: bool) -> bool {
    let mut trees = tokens.into_iter().peekable();
    while let Some(tt) = trees.next() {
        match tt {
            TokenTree::Ident(id) if id == "Self" => return true,
            TokenTree::Ident(id) if in_body && (id == "impl" || id == "trait") => {
                // Skip the item's header and its brace block.
                for tt in trees.by_ref() {
                    if matches!(&tt, TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace)
                    {
                        break;
                    }
                }
            }
            TokenTree::Group(g) if uses_self_type(g.stream(), in_body) => return true,
            _ => {}
        }
    }
    false
}
