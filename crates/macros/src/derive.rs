//! `#[derive(ObjectHash)]`.
//!
//! A struct writes `begin_struct(name, n)` then each hashed field (named fields also write
//! their name); an enum writes `begin_variant(name, variant, n)` then the variant's fields.
//! So two types, or two variants, with equal field values never hash alike.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, Data, DeriveInput, Field, Fields, Path};

/// How one field is hashed.
enum FieldMode {
    /// `ObjectHash::object_hash(&field, h)`.
    Direct,
    /// `#[hash(skip)]`: not hashed.
    Skip,
    /// `#[hash(by = path)]`: `ObjectHash::object_hash(&path(&field), h)`.
    By(Path),
}

pub fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let name_str = name.to_string();
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(parse_quote!(::checkpointer::ObjectHash));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let body = match &input.data {
        Data::Struct(s) => {
            let (pattern, hashes, count) = fields_code(&s.fields)?;
            quote! {
                let #name #pattern = self;
                h.begin_struct(#name_str, #count);
                #hashes
            }
        }
        Data::Enum(e) => {
            let mut arms = Vec::new();
            for variant in &e.variants {
                reject_hash_attrs(&variant.attrs, "an enum variant")?;
                let v = &variant.ident;
                let v_str = v.to_string();
                let (pattern, hashes, count) = fields_code(&variant.fields)?;
                arms.push(quote! {
                    #name::#v #pattern => {
                        h.begin_variant(#name_str, #v_str, #count);
                        #hashes
                    }
                });
            }
            if arms.is_empty() {
                // An empty enum has no values: nothing can reach this.
                quote!(match *self {})
            } else {
                quote! {
                    match self {
                        #(#arms)*
                    }
                }
            }
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "`#[derive(ObjectHash)]` does not support unions: which field is live is unknown; implement `ObjectHash` by hand",
            ))
        }
    };
    reject_hash_attrs(&input.attrs, "a type")?;

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::checkpointer::ObjectHash for #name #ty_generics #where_clause {
            #[allow(unused_variables, clippy::needless_borrow)]
            fn object_hash(&self, h: &mut ::checkpointer::Hasher) {
                #body
            }
        }
    })
}

/// The destructuring pattern of `fields`, the code hashing them, and how many are hashed.
fn fields_code(fields: &Fields) -> syn::Result<(TokenStream, TokenStream, usize)> {
    let mut bindings = Vec::new();
    let mut hashes = Vec::new();
    let mut count = 0usize;
    for (i, field) in fields.iter().enumerate() {
        let mode = field_mode(field)?;
        let binding = format_ident!("__field{}", i);
        let member = match &field.ident {
            Some(id) => quote!(#id),
            None => {
                let index = syn::Index::from(i);
                quote!(#index)
            }
        };
        if matches!(mode, FieldMode::Skip) {
            bindings.push(quote!(#member: _));
            continue;
        }
        bindings.push(quote!(#member: #binding));
        count += 1;
        let ty_span = field.ty.span();
        if let Some(id) = &field.ident {
            let field_name = id.to_string();
            hashes.push(quote!(h.write_name(#field_name);));
        }
        hashes.push(match mode {
            FieldMode::Direct => quote_spanned!(ty_span=> ::checkpointer::ObjectHash::object_hash(#binding, h);),
            FieldMode::By(path) => {
                quote_spanned!(path.span()=> ::checkpointer::ObjectHash::object_hash(&#path(#binding), h);)
            }
            FieldMode::Skip => unreachable!("skipped above"),
        });
    }
    let pattern = match fields {
        Fields::Unit => TokenStream::new(),
        Fields::Named(_) | Fields::Unnamed(_) => quote!({ #(#bindings),* }),
    };
    Ok((pattern, quote!(#(#hashes)*), count))
}

fn field_mode(field: &Field) -> syn::Result<FieldMode> {
    let mut mode = FieldMode::Direct;
    let mut seen: Option<Span> = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("hash")) {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if seen.is_some() {
                return Err(syn::Error::new(
                    span,
                    "a field takes one `hash(…)` option: `skip` or `by = path::to::fn`",
                ));
            }
            seen = Some(span);
            if meta.path.is_ident("skip") {
                mode = FieldMode::Skip;
                Ok(())
            } else if meta.path.is_ident("by") {
                let value = meta
                    .value()
                    .map_err(|_| syn::Error::new(span, "expected `by = path::to::fn`"))?;
                mode = FieldMode::By(value.parse()?);
                Ok(())
            } else {
                Err(syn::Error::new(
                    span,
                    format!(
                        "unknown `hash` option `{}`{}; expected `skip` or `by = path::to::fn`",
                        crate::options::path_text(&meta.path),
                        meta.path
                            .get_ident()
                            .and_then(|id| crate::options::closest(&id.to_string(), ["skip", "by"]))
                            .map(|n| format!(" (did you mean `{n}`?)"))
                            .unwrap_or_default()
                    ),
                ))
            }
        })?;
        if seen.is_none() {
            return Err(syn::Error::new_spanned(
                attr,
                "empty `hash()`; expected `hash(skip)` or `hash(by = path::to::fn)`",
            ));
        }
    }
    Ok(mode)
}

fn reject_hash_attrs(attrs: &[syn::Attribute], what: &str) -> syn::Result<()> {
    match attrs.iter().find(|a| a.path().is_ident("hash")) {
        Some(a) => Err(syn::Error::new_spanned(
            a,
            format!("`#[hash(…)]` goes on fields, not on {what}"),
        )),
        None => Ok(()),
    }
}
