//! Syntax scans of a function body: the statics and consts it names (for the
//! `Checkpointer::capture()` preset) and whether it uses `Self` (it lives in an impl).

use proc_macro2::{TokenStream, TokenTree};
use std::collections::BTreeSet;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, Ident, Token};

/// What the `Checkpointer::capture()` probes need from a body.
pub struct Screaming {
    /// Single-segment SCREAMING_CASE path expressions not bound locally, in first-use order:
    /// the statics and consts `Checkpointer::capture()` hashes.
    pub names: Vec<Ident>,
    /// The body's top-level `use` items (other than of items declared in the body): the
    /// probes sit outside the body, in the same module, and repeat them to see the same names.
    pub uses: Vec<syn::ItemUse>,
}

/// Scans `block` for [`Screaming`] names.
///
/// Names used only inside `unsafe` blocks are left out (a `static mut` cannot be borrowed
/// safely), and so are items declared inside the body (they are not in scope outside it),
/// and names imported by a `use` in a nested block or of a body-local item.
pub fn screaming_names(block: &syn::Block, bound: &[Ident]) -> Screaming {
    let mut scan = Names {
        found: Vec::new(),
        local: bound.iter().map(Ident::to_string).collect(),
        items: BTreeSet::new(),
        uses: Vec::new(),
        depth: 0,
    };
    scan.visit_block(block);
    let mut local = scan.local;
    let items = scan.items;
    let mut uses = Vec::new();
    for u in scan.uses {
        let root = use_root(&u.tree);
        if root.is_some_and(|r| items.contains(&r)) {
            use_names(&u.tree, &mut local);
        } else {
            uses.push(u);
        }
    }
    local.extend(items);
    let mut seen = BTreeSet::new();
    let names = scan
        .found
        .into_iter()
        .filter(|id| !local.contains(&id.to_string()) && seen.insert(id.to_string()))
        .collect();
    Screaming { names, uses }
}

/// The first segment of a `use` path (`None` for a leading `::` or a group at the root).
fn use_root(tree: &syn::UseTree) -> Option<String> {
    match tree {
        syn::UseTree::Path(p) => Some(p.ident.to_string()),
        syn::UseTree::Name(n) => Some(n.ident.to_string()),
        syn::UseTree::Rename(r) => Some(r.ident.to_string()),
        syn::UseTree::Glob(_) | syn::UseTree::Group(_) => None,
    }
}

/// The names a `use` tree brings into scope (globs bring unknown ones).
fn use_names(tree: &syn::UseTree, out: &mut BTreeSet<String>) {
    match tree {
        syn::UseTree::Path(p) => use_names(&p.tree, out),
        syn::UseTree::Name(n) => {
            out.insert(n.ident.to_string());
        }
        syn::UseTree::Rename(r) => {
            out.insert(r.rename.to_string());
        }
        syn::UseTree::Glob(_) => {}
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| use_names(t, out)),
    }
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
    /// Items declared in the body.
    items: BTreeSet<String>,
    /// Top-level `use` items.
    uses: Vec<syn::ItemUse>,
    /// Block nesting: 1 in the body itself.
    depth: usize,
}

impl<'ast> Visit<'ast> for Names {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.depth += 1;
        visit::visit_block(self, b);
        self.depth -= 1;
    }

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
            syn::Item::Union(i) => Some(&i.ident),
            syn::Item::Mod(i) => Some(&i.ident),
            syn::Item::Trait(i) => Some(&i.ident),
            syn::Item::Type(i) => Some(&i.ident),
            syn::Item::Use(u) if self.depth == 1 => {
                self.uses.push(u.clone());
                None
            }
            // A nested block's import is not in scope where the probes are.
            syn::Item::Use(u) => {
                use_names(&u.tree, &mut self.local);
                None
            }
            _ => None,
        };
        if let Some(name) = name {
            self.items.insert(name.to_string());
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
