//! The expansion of `#[checkpoint]`: the cached wrapper, the original function under a
//! hidden name, the `CachedFn` static and the companion functions.

use crate::fingerprint::Fingerprint;
use crate::options::{path_text, ExpiryOpt, OnErrorOpt, Options, StorageOpt};
use crate::scan;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    parse_quote, Attribute, FnArg, GenericArgument, GenericParam, Ident, ItemFn, Pat, Path,
    PathArguments, ReturnType, Type, Visibility,
};

/// How a parameter enters the call hash.
enum HashMode {
    /// `ObjectHash::object_hash(&arg)`.
    Direct,
    /// `#[no_hash]`.
    Skip,
    /// `#[hash_by(path)]`: `ObjectHash::object_hash(&path(&arg))`.
    By(Path),
}

/// A typed parameter, as the generated functions see it.
struct Param {
    /// The name the wrapper and companions give it (the user's ident, or `__arg{i}`).
    ident: Ident,
    ty: Type,
    mode: HashMode,
    /// `impl Trait` in argument position: no turbofish, and its type name is hashed.
    impl_trait: bool,
}

/// How a return value maps to what is cached.
enum Wrap {
    /// Any type: the whole value is cached.
    Plain,
    /// `Result<T, E>`: only `Ok` is cached.
    OkOnly,
    /// `Result<T, E>` under `on_error = "raise"`.
    OkOrRaise,
}

/// Everything derived from the function that the generated pieces share.
struct Func {
    /// The function as written, parameter attributes stripped: the original's definition.
    item: ItemFn,
    name: Ident,
    /// The name without `r#`, for generated names and messages.
    name_str: String,
    params: Vec<Param>,
    /// The receiver, if the function has one (`&self`, `&mut self`, `self`, `self: Box<Self>`).
    receiver: Option<syn::Receiver>,
    /// In an impl block: companions become associated functions.
    in_impl: bool,
    is_async: bool,
    is_unsafe: bool,
    wrap: Wrap,
    /// The cached type: `T` of `Result<T, E>`, else the return type.
    stored: Type,
    /// The declared return type (`()` when there is none).
    ret: Type,
    /// `::<T, N>` for calls, when it can be written (no `impl Trait` parameters).
    turbofish: TokenStream,
    /// `::<T, N>` for the codec function, which has no `impl Trait` parameters.
    codec_turbofish: TokenStream,
}

pub fn expand(opts: Options, input: ItemFn) -> syn::Result<TokenStream> {
    // The function's tokens and everything of the user's code it depends on (fingerprint/).
    let identity = crate::fingerprint::fingerprint(
        &input.to_token_stream(),
        &opts.identity_tokens,
        opts.fn_hash_from.is_some(),
    );
    let context = crate::site::of_call_site(&input.sig.ident.to_string());
    if context == crate::site::Context::TraitImpl {
        return Err(syn::Error::new_spanned(
            &input.sig.ident,
            "`#[checkpoint]` cannot go on a method of a trait impl: a trait impl may hold only the trait's items, and a cached function needs its handle and companions beside it. Put `#[checkpoint]` on an inherent method or a free function and call it from the trait method",
        ));
    }
    let mut func = analyze(&opts, input)?;
    // An associated function without `self` or `Self` still lives in an impl.
    func.in_impl |= context == crate::site::Context::InherentImpl;
    if let (Some((OnErrorOpt::Raise, lit)), false) =
        (&opts.on_error, matches!(func.wrap, Wrap::OkOrRaise))
    {
        return Err(syn::Error::new_spanned(
            lit,
            "`on_error = \"raise\"` needs a function returning `Result<T, E>` (with `E: From<CheckpointError>`) to return the cache error in; use \"warn\" or \"ignore\" here",
        ));
    }
    if func.in_impl {
        Ok(expand_method(&opts, &func, &identity))
    } else {
        Ok(expand_free(&opts, &func, &identity))
    }
}

fn analyze(opts: &Options, mut item: ItemFn) -> syn::Result<Func> {
    let sig = &item.sig;
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new_spanned(
            c,
            "`#[checkpoint]` cannot cache a `const fn`: its calls may run at compile time",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new_spanned(
            abi,
            "`#[checkpoint]` does not support `extern` functions",
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            v,
            "`#[checkpoint]` does not support variadic functions",
        ));
    }
    let name = sig.ident.clone();
    let name_str = name.unraw().to_string();
    let mut params = Vec::new();
    let mut receiver = None;
    for (i, arg) in item.sig.inputs.iter_mut().enumerate() {
        match arg {
            FnArg::Receiver(r) => receiver = Some(r.clone()),
            FnArg::Typed(pt) => {
                let mut mode = HashMode::Direct;
                let mut kept: Vec<Attribute> = Vec::new();
                for attr in std::mem::take(&mut pt.attrs) {
                    if attr.path().is_ident("no_hash") {
                        attr.meta.require_path_only().map_err(|_| {
                            syn::Error::new_spanned(&attr, "`#[no_hash]` takes no arguments")
                        })?;
                        set_mode(&mut mode, HashMode::Skip, &attr)?;
                    } else if attr.path().is_ident("hash_by") {
                        let path: Path = attr.parse_args().map_err(|e| {
                            syn::Error::new(e.span(), "expected `#[hash_by(path::to::fn)]`, a function from `&T` to a value implementing `ObjectHash`")
                        })?;
                        set_mode(&mut mode, HashMode::By(path), &attr)?;
                    } else {
                        kept.push(attr);
                    }
                }
                pt.attrs = kept;
                if !matches!(mode, HashMode::Skip) {
                    if let Some(at) = mut_reference(&pt.ty) {
                        return Err(syn::Error::new_spanned(
                            at,
                            "`#[checkpoint]` refuses `&mut` arguments: on a cache hit the function does not run, so whatever it would have done through this reference is lost. Pass the value by shared reference or by value and return the change, or mark the parameter `#[no_hash]` if the result does not depend on it and losing its side effects on a hit is intended (a logger, a progress bar)",
                        ));
                    }
                }
                let ident = match &*pt.pat {
                    Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => p.ident.clone(),
                    _ => format_ident!("__arg{}", i),
                };
                let impl_trait = contains_impl_trait(&pt.ty);
                params.push(Param {
                    ident,
                    ty: (*pt.ty).clone(),
                    mode,
                    impl_trait,
                });
            }
        }
    }
    let sig = &item.sig;
    let in_impl = receiver.is_some()
        || scan::uses_self_type(sig.to_token_stream(), false)
        || scan::uses_self_type(item.block.to_token_stream(), true);
    let ret: Type = match &sig.output {
        ReturnType::Default => parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    if let Some(hidden) = impl_trait(&ret) {
        return Err(syn::Error::new_spanned(
            hidden,
            "`#[checkpoint]` needs the return type written out: a hit decodes the stored value back into that type, which `impl Trait` hides. Name the concrete type here",
        ));
    }
    let raise = matches!(opts.on_error, Some((OnErrorOpt::Raise, _)));
    let (wrap, stored) = match result_ok_type(&ret) {
        Some(ok) if raise => (Wrap::OkOrRaise, ok),
        Some(ok) => (Wrap::OkOnly, ok),
        None => (Wrap::Plain, ret.clone()),
    };
    if let Type::Reference(r) = &stored {
        return Err(syn::Error::new_spanned(
            r,
            "`#[checkpoint]` cannot cache a reference: a hit decodes a new value, which a borrow cannot point into. Return an owned type (`String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`)",
        ));
    }
    let generic_args: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.to_token_stream()),
            GenericParam::Const(c) => Some(c.ident.to_token_stream()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let codec_turbofish = if generic_args.is_empty() {
        TokenStream::new()
    } else {
        quote!(::<#(#generic_args),*>)
    };
    let turbofish = if params.iter().any(|p| p.impl_trait) {
        TokenStream::new()
    } else {
        codec_turbofish.clone()
    };
    Ok(Func {
        name,
        name_str,
        params,
        receiver,
        in_impl,
        is_async: sig.asyncness.is_some(),
        is_unsafe: sig.unsafety.is_some(),
        wrap,
        stored,
        ret,
        turbofish,
        codec_turbofish,
        item,
    })
}

fn set_mode(mode: &mut HashMode, new: HashMode, attr: &Attribute) -> syn::Result<()> {
    if !matches!(mode, HashMode::Direct) {
        return Err(syn::Error::new_spanned(
            attr,
            "a parameter takes at most one of `#[no_hash]` and `#[hash_by(…)]`",
        ));
    }
    *mode = new;
    Ok(())
}

/// The first `&mut` reference type inside `ty`, if any.
fn mut_reference(ty: &Type) -> Option<&syn::TypeReference> {
    struct Find<'a>(Option<&'a syn::TypeReference>);
    impl<'a> syn::visit::Visit<'a> for Find<'a> {
        fn visit_type_reference(&mut self, r: &'a syn::TypeReference) {
            if r.mutability.is_some() && self.0.is_none() {
                self.0 = Some(r);
            }
            syn::visit::visit_type_reference(self, r);
        }
    }
    let mut f = Find(None);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}

fn contains_impl_trait(ty: &Type) -> bool {
    impl_trait(ty).is_some()
}

/// The first `impl Trait` inside `ty`, if any.
fn impl_trait(ty: &Type) -> Option<&syn::TypeImplTrait> {
    struct Find<'a>(Option<&'a syn::TypeImplTrait>);
    impl<'a> syn::visit::Visit<'a> for Find<'a> {
        fn visit_type_impl_trait(&mut self, t: &'a syn::TypeImplTrait) {
            self.0.get_or_insert(t);
        }
    }
    let mut f = Find(None);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}

/// `T` if `ty` is a path ending in `Result` with at least one generic type argument.
fn result_ok_type(ty: &Type) -> Option<Type> {
    let Type::Path(tp) = ty else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let last = tp.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

/// Paths to the runtime pieces, spelled once.
fn p() -> TokenStream {
    quote!(::checkpointer::__private)
}

impl Func {
    /// The parameter list of wrappers and companions: plain idents, our attributes stripped.
    fn inputs(&self, receiver: Receiver) -> Vec<TokenStream> {
        let mut out = Vec::new();
        match (receiver, &self.receiver) {
            (Receiver::Same, Some(r)) => {
                let attrs = &r.attrs;
                if r.colon_token.is_some() {
                    let ty = &r.ty;
                    let m = &r.mutability;
                    out.push(quote!(#(#attrs)* #m self: #ty));
                } else {
                    let reference = r.reference.as_ref().map(|(amp, lt)| quote!(#amp #lt));
                    let m = &r.mutability;
                    out.push(quote!(#(#attrs)* #reference #m self));
                }
            }
            (Receiver::Shared, Some(_)) => out.push(quote!(&self)),
            (_, None) => {}
        }
        for param in &self.params {
            let ident = &param.ident;
            let ty = &param.ty;
            out.push(quote!(#ident: #ty));
        }
        out
    }

    fn args(&self) -> Vec<&Ident> {
        self.params.iter().map(|p| &p.ident).collect()
    }

    /// A call of the original function with the wrapper's arguments (not awaited).
    fn call_original(&self) -> TokenStream {
        let args = self.args();
        let original = original_ident(&self.name_str);
        let turbofish = &self.turbofish;
        let call = if self.in_impl {
            let this = self.receiver.as_ref().map(|_| quote!(self,));
            quote!(Self::#original #turbofish(#this #(#args),*))
        } else {
            quote!(#original #turbofish(#(#args),*))
        };
        if self.is_unsafe {
            // The caller of the wrapper already vouched for the original's contract.
            quote!(unsafe { #call })
        } else {
            call
        }
    }

    /// Whether the function has type or const parameters.
    fn is_generic(&self) -> bool {
        !self.codec_turbofish.is_empty()
    }

    /// `<Stored as Storable>::CODEC`, spanned on the stored type: the only serde bound in the
    /// expansion (`CachedFn` and `Outcome` have none), so a type without serde is one error
    /// there. Written out where it is used: rustc reports identical errors once. A generic
    /// function's error also suggests a `where` clause at a place that differs per generated
    /// function, so there it is checked once, in a hidden function the others call.
    fn codec(&self) -> TokenStream {
        if self.is_generic() {
            let name = codec_ident(&self.name_str);
            let turbofish = &self.codec_turbofish;
            if self.in_impl {
                quote!(Self::#name #turbofish())
            } else {
                quote!(#name #turbofish())
            }
        } else {
            self.codec_check()
        }
    }

    fn codec_check(&self) -> TokenStream {
        let p = p();
        let stored = &self.stored;
        quote_spanned!(stored.span()=> <#stored as #p::Storable>::CODEC)
    }

    /// The hidden codec function of a generic function (see [`Func::codec`]). Not used for
    /// the others: its signature has no inputs, so an elided lifetime in the stored type
    /// (`-> Cow<str>`) could not be written there.
    fn codec_fn(&self, cfg: &[Attribute]) -> TokenStream {
        if !self.is_generic() {
            return TokenStream::new();
        }
        let p = p();
        let stored = &self.stored;
        let check = self.codec_check();
        let name = codec_ident(&self.name_str);
        let generics = &self.item.sig.generics;
        let where_clause = &generics.where_clause;
        quote! {
            #(#cfg)*
            #[doc(hidden)]
            #[allow(dead_code, clippy::extra_unused_type_parameters)]
            fn #name #generics () -> #p::ValueCodec<#stored> #where_clause {
                #check
            }
        }
    }

    /// The outcome wrapper around a value of the return type.
    fn wrap(&self, value: TokenStream) -> TokenStream {
        let p = p();
        let span = self.ret.span();
        match self.wrap {
            Wrap::Plain => quote_spanned!(span=> #p::Plain(#value)),
            Wrap::OkOnly => quote_spanned!(span=> #p::OkOnly(#value)),
            Wrap::OkOrRaise => quote_spanned!(span=> #p::OkOrRaise(#value)),
        }
    }

    /// The closure computing the outcome: `move || ready(Wrap(original(args)))`, or its
    /// async form.
    fn compute_closure(&self) -> TokenStream {
        let p = p();
        let call = self.call_original();
        if self.is_async {
            let wrapped = self.wrap(quote!(#call.await));
            quote!(move || async move { #wrapped })
        } else {
            let wrapped = self.wrap(call);
            quote!(move || #p::ready(#wrapped))
        }
    }

    /// Drives a runtime future: `.await` in async functions, `block_on` in sync ones.
    fn drive(&self, fut: TokenStream) -> TokenStream {
        let p = p();
        if self.is_async {
            quote!(#fut.await)
        } else {
            quote!(#p::block_on(#fut))
        }
    }

    /// `let _ = &arg;` for the parameters a hash-only companion does not read.
    fn touch_unhashed(&self) -> TokenStream {
        let idents = self
            .params
            .iter()
            .filter(|p| matches!(p.mode, HashMode::Skip))
            .map(|p| &p.ident);
        quote!(#(let _ = &#idents;)*)
    }

    /// The block building the call's `Hasher`: receiver and its type, generic types,
    /// arguments, `capture(…)` values, and the `Checkpointer::capture()` probes.
    fn hash_block(&self, opts: &Options, handle: &TokenStream) -> TokenStream {
        let p = p();
        let h = quote!(__checkpointer_hasher);
        let mut parts = Vec::new();
        if let Some(r) = &self.receiver {
            parts.push(quote_spanned!(r.span()=> #p::ObjectHash::object_hash(&self, &mut #h);));
        }
        if self.in_impl {
            // Two types' methods of one name never share entries.
            parts.push(quote!(#h.write_name(::core::any::type_name::<Self>());));
        }
        for param in &self.item.sig.generics.params {
            match param {
                GenericParam::Type(t) => {
                    let id = &t.ident;
                    parts.push(quote!(#h.write_name(::core::any::type_name::<#id>());));
                }
                GenericParam::Const(c) => {
                    let id = &c.ident;
                    parts.push(
                        quote_spanned!(c.span()=> #p::ObjectHash::object_hash(&#id, &mut #h);),
                    );
                }
                GenericParam::Lifetime(_) => {}
            }
        }
        for param in &self.params {
            let id = &param.ident;
            if param.impl_trait {
                parts.push(quote!(#h.write_name(::core::any::type_name_of_val(&#id));));
            }
            let span = param.ty.span();
            match &param.mode {
                // `<Ty as ObjectHash>`: a type without it is one error, at the type (an
                // `impl Trait` type cannot be named: the argument is then the span).
                HashMode::Direct if !param.impl_trait => {
                    let ty = &param.ty;
                    parts.push(quote_spanned!(span=> <#ty as #p::ObjectHash>::object_hash(&#id, &mut #h);))
                }
                HashMode::Direct => {
                    parts.push(quote_spanned!(span=> #p::ObjectHash::object_hash(&#id, &mut #h);))
                }
                HashMode::Skip => {}
                HashMode::By(path) => {
                    parts.push(quote_spanned!(path.span()=> #p::ObjectHash::object_hash(&#path(&#id), &mut #h);))
                }
            }
        }
        for path in &opts.capture {
            let name = path_text(path);
            parts.push(quote_spanned!(path.span()=> #h.write_name(#name); #p::ObjectHash::object_hash(&#path, &mut #h);));
        }
        let mut bound: Vec<Ident> = Vec::new();
        for arg in &self.item.sig.inputs {
            if let FnArg::Typed(pt) = arg {
                collect_pat_idents(&pt.pat, &mut bound);
            }
        }
        for param in &self.item.sig.generics.params {
            if let GenericParam::Const(c) = param {
                bound.push(c.ident.clone());
            }
        }
        let listed: Vec<String> = opts
            .capture
            .iter()
            .chain(&opts.capture_once)
            .map(path_text)
            .collect();
        // Only a preset (`using = …`) can ask for every static and const to be captured:
        // without one, no probe is emitted (probes are code the body never asked for).
        let scanned = match &opts.using {
            Some(_) => scan::screaming_names(&self.item.block, &bound),
            None => scan::Screaming {
                names: Vec::new(),
                uses: Vec::new(),
            },
        };
        let uses = &scanned.uses;
        let probes: Vec<TokenStream> = scanned
            .names
            .into_iter()
            .filter(|id| !listed.contains(&id.to_string()))
            .map(|id| {
                let name = id.to_string();
                quote!((&#p::CaptureProbe(&#id)).capture_hash(#name, &mut #h);)
            })
            .collect();
        if !probes.is_empty() {
            parts.push(quote! {
                if #handle.captures_all() {
                    #[allow(unused_imports)]
                    use #p::{CaptureHash as _, CaptureSkip as _};
                    // The body's own imports, so a probe sees the names the body sees.
                    #(#[allow(unused_imports)] #uses)*
                    #(#probes)*
                }
            });
        }
        quote! {{
            let mut #h = #p::Hasher::new();
            #(#parts)*
            #h
        }}
    }
}

#[derive(Clone, Copy)]
enum Receiver {
    /// The method's own receiver (companions that run the function).
    Same,
    /// `&self` (companions that only hash).
    Shared,
}

fn collect_pat_idents(pat: &Pat, out: &mut Vec<Ident>) {
    struct Collect<'o>(&'o mut Vec<Ident>);
    impl<'a> syn::visit::Visit<'a> for Collect<'_> {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.push(p.ident.clone());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    syn::visit::Visit::visit_pat(&mut Collect(out), pat);
}

fn original_ident(name: &str) -> Ident {
    format_ident!("__checkpointer_{}_original", name)
}

fn codec_ident(name: &str) -> Ident {
    format_ident!("__checkpointer_{}_codec", name)
}

/// The `fn() -> Checkpointer` building the options, and the `capture_once` hasher:
/// items for a block whose tail is `CachedFn::new(…)`.
fn runtime_items(opts: &Options) -> (TokenStream, TokenStream) {
    let p = p();
    let start = match &opts.using {
        Some(preset) => {
            quote_spanned!(preset.span()=> { let preset: &#p::Checkpointer = &(#preset); preset.clone() })
        }
        None => quote!(#p::Checkpointer::new()),
    };
    let mut steps = Vec::new();
    match &opts.storage {
        Some(StorageOpt::Spec(s)) => {
            // Validated when parsed; here each tier's Cargo feature is checked, at the spec.
            let features = crate::storage_spec::features(s).unwrap_or_default();
            let checks = crate::storage_spec::feature_checks(s, &features);
            steps.push(quote!(.storage_spec({ #checks #s })))
        }
        Some(StorageOpt::Expr(e)) => steps.push(quote_spanned!(e.span()=> .storage(#e))),
        None => {}
    }
    if let Some(d) = &opts.directory {
        steps.push(quote_spanned!(d.span()=> .directory(#d)));
    }
    if let Some(v) = opts.verbosity {
        steps.push(quote!(.verbosity(#v)));
    }
    match &opts.expiry {
        Some(ExpiryOpt::Duration(nanos)) => {
            steps.push(quote!(.expire(#p::Duration::from_nanos(#nanos))))
        }
        Some(ExpiryOpt::Expr(e)) => steps.push(quote_spanned!(e.span()=> .expire(#e))),
        None => {}
    }
    if let Some(f) = &opts.fn_hash_from {
        steps.push(quote_spanned!(f.span()=> .fn_hash_from(#f)));
    }
    if let Some((mode, _)) = &opts.on_error {
        let variant = match mode {
            OnErrorOpt::Warn => quote!(Warn),
            OnErrorOpt::Raise => quote!(Raise),
            OnErrorOpt::Ignore => quote!(Ignore),
        };
        steps.push(quote!(.on_error(#p::OnError::#variant)));
    }
    match opts.compress {
        Some(Some(level)) => steps.push(quote!(.compression(::core::option::Option::Some(
            #p::Compression { level: #level }
        )))),
        Some(None) => steps.push(quote!(.compression(::core::option::Option::None))),
        None => {}
    }
    let items = quote! {
        fn options() -> #p::Checkpointer {
            #start #(#steps)*
        }
    };
    let once = if opts.capture_once.is_empty() {
        quote!(::core::option::Option::None)
    } else {
        let hashes = opts.capture_once.iter().map(|path| {
            let name = path_text(path);
            quote_spanned!(path.span()=> h.write_name(#name); #p::ObjectHash::object_hash(&#path, h);)
        });
        quote! {{
            fn capture_once(h: &mut #p::Hasher) {
                #(#hashes)*
            }
            ::core::option::Option::Some(capture_once as fn(&mut #p::Hasher))
        }}
    };
    (items, once)
}

/// `FnInfo { … }` with `name` given as an expression.
fn fn_info(opts: &Options, name: TokenStream, identity: &Fingerprint) -> TokenStream {
    let p = p();
    let env = &opts.env;
    let files = &opts.files;
    // What called checkpointed functions watch, the caller watches too (literals only).
    let own_env: Vec<String> = env.iter().map(|e| quote!(#e).to_string()).collect();
    let own_files: Vec<String> = files.iter().map(|e| quote!(#e).to_string()).collect();
    let inherited_env: Vec<&String> = identity
        .inherited_env
        .iter()
        .filter(|v| !own_env.contains(&format!("{v:?}")))
        .collect();
    let inherited_files: Vec<&String> = identity
        .inherited_files
        .iter()
        .filter(|f| !own_files.contains(&format!("{f:?}")))
        .collect();
    let (paths, hashes): (Vec<&str>, Vec<&str>) = identity
        .items
        .iter()
        .map(|(p, h)| (p.as_str(), h.as_str()))
        .unzip();
    let identity = &identity.identity;
    quote! {
        #p::FnInfo {
            module_path: ::core::module_path!(),
            name: #name,
            identity: #identity,
            env: &[#(#env,)* #(#inherited_env),*],
            files: &[#(#files,)* #(#inherited_files),*],
            items: &[#((#paths, #hashes)),*],
        }
    }
}

/// Attributes of the user's function: which go on the wrapper, which on the original.
struct SplitAttrs {
    wrapper: Vec<Attribute>,
    original: Vec<Attribute>,
    /// `cfg`/`cfg_attr`: on every generated item.
    cfg: Vec<Attribute>,
}

fn split_attrs(attrs: &[Attribute]) -> SplitAttrs {
    let mut s = SplitAttrs {
        wrapper: Vec::new(),
        original: Vec::new(),
        cfg: Vec::new(),
    };
    for attr in attrs {
        let path = attr.path();
        if let syn::AttrStyle::Inner(_) = attr.style {
            // `#![…]` at the top of the body: it stays there, in the original. Lint levels
            // also apply to the wrapper, as outer attributes.
            s.original.push(attr.clone());
            if ["allow", "warn", "deny", "forbid"]
                .iter()
                .any(|l| path.is_ident(l))
            {
                let mut outer = attr.clone();
                outer.style = syn::AttrStyle::Outer;
                s.wrapper.push(outer);
            }
        } else if path.is_ident("cfg") || path.is_ident("cfg_attr") {
            s.cfg.push(attr.clone());
        } else if ["allow", "warn", "deny", "forbid"]
            .iter()
            .any(|l| path.is_ident(l))
        {
            // Lint levels concern the body (the original) and the signature (both).
            s.wrapper.push(attr.clone());
            s.original.push(attr.clone());
        } else if path.is_ident("expect") {
            // `expect` must be fulfilled exactly where the linted code is: the original.
            let mut allow = attr.clone();
            if let syn::Meta::List(list) = &mut allow.meta {
                list.path = parse_quote!(allow);
            }
            s.wrapper.push(allow);
            s.original.push(attr.clone());
        } else {
            s.wrapper.push(attr.clone());
        }
    }
    s
}

/// The shape every companion shares.
struct Companion {
    doc: String,
    name: Ident,
    asyncness: bool,
    unsafety: bool,
    receiver: Receiver,
    /// A parameter before the function's own (`default: T`, `value: T`).
    extra: Option<TokenStream>,
    ret: TokenStream,
    body: TokenStream,
    generic: bool,
}

fn expand_free(opts: &Options, f: &Func, identity: &Fingerprint) -> TokenStream {
    let p = p();
    let item = &f.item;
    let name = &f.name;
    let name_str = &f.name_str;
    let vis = &item.vis;
    let attrs = split_attrs(&item.attrs);
    let cfg = &attrs.cfg;
    let original = original_ident(name_str);
    let static_ident = format_ident!("__CHECKPOINTER_{}", name_str.to_uppercase());
    let handle = quote!(#static_ident);

    // The wrapper: same signature, plain parameter names, the cached call.
    let wrapper = wrapper_fn(opts, f, &attrs.wrapper, &handle);

    // The original, renamed and hidden.
    let mut orig = item.clone();
    orig.sig.ident = original.clone();
    orig.vis = Visibility::Inherited;
    orig.attrs = attrs.original.clone();
    orig.attrs.extend(cfg.iter().cloned());

    let (option_items, once) = runtime_items(opts);
    let info = fn_info(opts, quote!(#name_str), identity);
    let companions = companions(opts, f, &handle, &|c: &str| format_ident!("{}", c));
    let doc = format!(
        "Companion functions of [`{name_str}()`]: its cache handle and the operations on one entry.\n\n\
         Each takes the same parameters as `{name_str}`; see the `checkpoint` attribute's documentation. \
         (An uninhabited type rather than a module, so that its functions resolve names in the \
         function's own scope, even inside a block.)"
    );
    // The type's visibility caps its functions' visibility.
    let companions = companions
        .into_iter()
        .map(|c| render_companion(f, c, &quote!(pub)));

    let codec_fn = f.codec_fn(cfg);

    quote! {
        #wrapper

        #[doc(hidden)]
        #orig

        #codec_fn

        #(#cfg)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #static_ident: #p::CachedFn = {
            #option_items
            #p::CachedFn::new(#info, options, #p::open_tier, #once)
        };

        // `square::get(4)` is an associated function call: the companions hang off a type
        // named like the function (types and functions live in different namespaces).
        // Hidden from the user's docs: the attribute's documentation describes the
        // companions, and a library would otherwise show one enum per cached function.
        #(#cfg)*
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis enum #name {}

        #(#cfg)*
        #[allow(dead_code, clippy::needless_lifetimes)]
        impl #name {
            #(#companions)*
        }
    }
}

fn expand_method(opts: &Options, f: &Func, identity: &Fingerprint) -> TokenStream {
    let p = p();
    let item = &f.item;
    let name_str = &f.name_str;
    let vis = &item.vis;
    let attrs = split_attrs(&item.attrs);
    let cfg = &attrs.cfg;
    let original = original_ident(name_str);
    let handle_ident = format_ident!("{}_handle", name_str);
    let handle = quote!(Self::#handle_ident());
    let wrapper = wrapper_fn(opts, f, &attrs.wrapper, &handle);

    let mut orig = item.clone();
    orig.sig.ident = original;
    orig.vis = Visibility::Inherited;
    orig.attrs = attrs.original.clone();
    orig.attrs.extend(cfg.iter().cloned());

    let (option_items, once) = runtime_items(opts);
    let info = fn_info(opts, quote!(#p::method_name::<Self>(#name_str)), identity);
    let companions = companions(opts, f, &handle, &|c: &str| {
        format_ident!("{}_{}", name_str, c)
    });
    // `NAME_handle` is emitted below: it holds the static.
    let companions = companions
        .into_iter()
        .filter(|c| c.name != handle_ident)
        .map(|c| render_companion(f, c, &vis.to_token_stream()));
    let handle_doc = format!(
        "The cache handle of [`Self::{name_str}`]: identity, statistics, `cleanup` and `clear`."
    );

    let codec_fn = f.codec_fn(cfg);

    quote! {
        #wrapper

        #[doc(hidden)]
        #orig

        #codec_fn

        #(#cfg)*
        #[doc = #handle_doc]
        #[doc(hidden)]
        #[allow(dead_code)]
        #vis fn #handle_ident() -> &'static #p::CachedFn {
            // A static cannot name `Self`, so the handle is built on first use, where it can.
            static CACHED: #p::OnceLock<#p::CachedFn> = #p::OnceLock::new();
            CACHED.get_or_init(|| {
                #option_items
                #p::CachedFn::new(#info, options, #p::open_tier, #once)
            })
        }

        #(#companions)*
    }
}

fn wrapper_fn(opts: &Options, f: &Func, attrs: &[Attribute], handle: &TokenStream) -> TokenStream {
    let item = &f.item;
    let vis = &item.vis;
    let sig = &item.sig;
    let (constness, asyncness, unsafety, fn_token, ident) = (
        &sig.constness,
        &sig.asyncness,
        &sig.unsafety,
        &sig.fn_token,
        &sig.ident,
    );
    let generics = &sig.generics;
    let where_clause = &generics.where_clause;
    let output = &sig.output;
    let inputs = f.inputs(Receiver::Same);
    let call = f.call_original();
    let when = opts.when.as_ref().map(|w| {
        let run = if f.is_async {
            quote!(#call.await)
        } else {
            call.clone()
        };
        quote! {
            // Bound first, so lints on the expression see it as written.
            let __checkpointer_when: bool = #w;
            if !__checkpointer_when {
                return #run;
            }
        }
    });
    let hash = f.hash_block(opts, handle);
    let memo = crate::memo::probe(&f.stored, &f.item.sig.generics, f.in_impl);
    let cached = if f.is_async {
        let closure = f.compute_closure();
        let codec = f.codec();
        quote!(#handle.call_memo(#memo, __checkpointer_hasher, true, #codec, #closure).await)
    } else {
        // Sync: `call_sync` answers memory hits without building a future.
        let wrapped = f.wrap(f.call_original());
        let codec = f.codec();
        quote!(#handle.call_sync_memo(#memo, __checkpointer_hasher, true, #codec, move || #wrapped))
    };
    quote! {
        #(#attrs)*
        #vis #constness #asyncness #unsafety #fn_token #ident #generics (#(#inputs),*) #output #where_clause {
            #when
            let __checkpointer_hasher = #hash;
            #cached.0
        }
    }
}

fn companions(
    opts: &Options,
    f: &Func,
    handle: &TokenStream,
    name: &dyn Fn(&str) -> Ident,
) -> Vec<Companion> {
    let p = p();
    let hash = f.hash_block(opts, handle);
    let touch = f.touch_unhashed();
    let ret = &f.ret;
    let stored = &f.stored;
    let fname = &f.name_str;
    let taken: Vec<String> = f.params.iter().map(|p| p.ident.to_string()).collect();
    let free_name = |want: &str| {
        if taken.iter().any(|t| t == want) {
            format_ident!("__checkpointer_{}", want)
        } else {
            format_ident!("{}", want)
        }
    };
    let default = free_name("default");
    let value = free_name("value");
    let closure = f.compute_closure();
    let call = f.call_original();
    let uncached_body = if f.is_async {
        quote!(#call.await)
    } else {
        call
    };
    let err = quote!(#p::CheckpointError);
    let storage = |op: TokenStream| f.drive(op);
    let mut out = vec![
        Companion {
            doc: format!("The cache handle of `{fname}`: identity, configuration, statistics, `cleanup` and `clear`."),
            name: name("handle"),
            asyncness: false,
            unsafety: false,
            receiver: Receiver::Shared,
            extra: None,
            ret: quote!(&'static #p::CachedFn),
            body: quote!(&#handle),
            generic: false,
        },
        Companion {
            doc: format!("Forgets the resolved options, identity and `capture_once` values of `{fname}`: the next call resolves them again."),
            name: name("reinit"),
            asyncness: false,
            unsafety: false,
            receiver: Receiver::Shared,
            extra: None,
            ret: quote!(()),
            body: quote!(#handle.reinit()),
            generic: false,
        },
        Companion {
            doc: format!("The call hash of `{fname}` for these arguments (with captures, `env` and `files`)."),
            name: name("call_hash"),
            asyncness: false,
            unsafety: false,
            receiver: Receiver::Shared,
            extra: None,
            ret: quote!(#p::Digest),
            body: quote!(#touch #handle.call_hash(#hash)),
            generic: true,
        },
    ];
    let codec = f.codec();
    let rerun = storage(quote!(#handle.rerun(__checkpointer_hasher, #codec, #closure)));
    out.push(Companion {
        doc: format!("Runs `{fname}` and overwrites its cached entry for these arguments."),
        name: name("rerun"),
        asyncness: f.is_async,
        unsafety: f.is_unsafe,
        receiver: Receiver::Same,
        extra: None,
        ret: quote!(#ret),
        body: quote! {
            let __checkpointer_hasher = #hash;
            #rerun.0
        },
        generic: true,
    });
    out.push(Companion {
        doc: format!("Runs the original `{fname}`, touching no cache."),
        name: name("uncached"),
        asyncness: f.is_async,
        unsafety: f.is_unsafe,
        receiver: Receiver::Same,
        extra: None,
        ret: quote!(#ret),
        body: uncached_body,
        generic: true,
    });
    let get = storage(quote!(#handle.get(#hash, #codec)));
    out.push(Companion {
        doc: format!("The cached value of `{fname}` for these arguments, or `Err(CheckpointError::NotCached)`; never runs the function."),
        name: name("get"),
        asyncness: f.is_async,
        unsafety: false,
        receiver: Receiver::Shared,
        extra: None,
        ret: quote!(::core::result::Result<#stored, #err>),
        body: quote!(#touch #get),
        generic: true,
    });
    out.push(Companion {
        doc: format!("The cached value of `{fname}` for these arguments, or `{default}` when there is none (or the cache fails); never runs the function."),
        name: name("get_or"),
        asyncness: f.is_async,
        unsafety: false,
        receiver: Receiver::Shared,
        extra: Some(quote!(#default: #stored)),
        ret: quote!(#stored),
        body: quote!(#touch #get.unwrap_or(#default)),
        generic: true,
    });
    let exists = storage(quote!(#handle.exists(#hash, #codec)));
    out.push(Companion {
        doc: format!(
            "Whether `{fname}` has a valid entry for these arguments (present, unexpired, intact and decodable: exactly when `get` would return it)."
        ),
        name: name("exists"),
        asyncness: f.is_async,
        unsafety: false,
        receiver: Receiver::Shared,
        extra: None,
        ret: quote!(::core::result::Result<bool, #err>),
        body: quote!(#touch #exists),
        generic: true,
    });
    let delete = storage(quote!(#handle.delete(#hash)));
    out.push(Companion {
        doc: format!("Removes the entry of `{fname}` for these arguments from every tier; `Ok(true)` if there was one."),
        name: name("delete"),
        asyncness: f.is_async,
        unsafety: false,
        receiver: Receiver::Shared,
        extra: None,
        ret: quote!(::core::result::Result<bool, #err>),
        body: quote!(#touch #delete),
        generic: true,
    });
    let set = storage(quote!(#handle.set(#hash, #codec, &#value)));
    out.push(Companion {
        doc: format!(
            "Stores `{value}` as the result of `{fname}` for these arguments, without running it."
        ),
        name: name("set"),
        asyncness: f.is_async,
        unsafety: false,
        receiver: Receiver::Shared,
        extra: Some(quote!(#value: #stored)),
        ret: quote!(::core::result::Result<(), #err>),
        body: quote!(#touch #set),
        generic: true,
    });
    out
}

fn render_companion(f: &Func, c: Companion, vis: &TokenStream) -> TokenStream {
    let Companion {
        doc,
        name,
        asyncness,
        unsafety,
        receiver,
        extra,
        ret,
        body,
        generic,
    } = c;
    let cfg = split_attrs(&f.item.attrs).cfg;
    let asyncness = asyncness.then(|| quote!(async));
    let unsafety = unsafety.then(|| quote!(unsafe));
    let (inputs, generics) = if generic {
        let mut inputs = f.inputs(receiver);
        if let Some(extra) = extra {
            let at = usize::from(f.receiver.is_some());
            inputs.insert(at, extra);
        }
        (inputs, Some(f.item.sig.generics.clone()))
    } else {
        // handle() and reinit() take nothing: there is one cache per function.
        (Vec::new(), None)
    };
    let where_clause = generics.as_ref().and_then(|g| g.where_clause.clone());
    let span = Span::call_site();
    // Hidden from the user's docs (ten per cached method otherwise); the attribute's
    // documentation describes them.
    quote_spanned! {span=>
        #(#cfg)*
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(dead_code, clippy::needless_lifetimes, clippy::too_many_arguments)]
        #vis #asyncness #unsafety fn #name #generics (#(#inputs),*) -> #ret #where_clause {
            #body
        }
    }
}
