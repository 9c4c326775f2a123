//! Procedural macros of [checkpointer](https://docs.rs/checkpointer): `#[checkpoint]` and
//! `#[derive(ObjectHash)]`.
//!
//! Use them through the `checkpointer` crate, which re-exports both: the generated code
//! refers to `::checkpointer::…` paths only. The examples below run as this crate's doctests,
//! through the facade (a dev-dependency), each with its own temporary cache directory.

#![warn(missing_docs)]

mod derive;
mod expand;
mod fingerprint;
mod identity;
mod memo;
mod options;
mod scan;
mod site;
mod storage_spec;

use proc_macro::TokenStream;

/// Caches a function's results on disk (or in memory, or in tiers), keyed by its arguments
/// and by a hash of its code.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # std::env::set_var("CHECKPOINTER_DIR", dir.path());
/// use checkpointer::{checkpoint, CheckpointError};
///
/// #[checkpoint]                                   // fs store, default directory
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// #[checkpoint(storage = "memory", verbosity = 0)]
/// fn words(text: &str) -> Vec<String> {
///     text.split_whitespace().map(str::to_owned).collect()
/// }
///
/// #[derive(Debug)]
/// enum MyError {
///     Cache(CheckpointError),
///     Http(String),
/// }
/// impl From<CheckpointError> for MyError {             // what `on_error = "raise"` needs
///     fn from(e: CheckpointError) -> Self {
///         MyError::Cache(e)
///     }
/// }
/// # async fn download(url: &str) -> Result<Vec<u8>, MyError> {
/// #     url.strip_prefix("https://").map(|s| s.as_bytes().to_vec()).ok_or(MyError::Http(url.into()))
/// # }
///
/// #[checkpoint(expiry = "7d", fn_hash_from = "v2", when = cfg!(not(test)), on_error = "raise")]
/// async fn fetch(url: String) -> Result<Vec<u8>, MyError> {
///     download(&url).await
/// }
///
/// assert_eq!(square(4), 16);             // computed and stored
/// assert_eq!(square(4), 16);             // loaded
/// assert_eq!(square::get(4).unwrap(), 16);
/// assert_eq!(words("a b"), ["a", "b"]);
/// # let fetched = checkpointer::backend::block_on(fetch("https://example.org".into()));
/// # assert_eq!(fetched.unwrap(), b"example.org");
/// ```
///
/// # What is cached
///
/// The key of an entry is `<crate>/<module path>/<fn name>/<identity>/<call hash>`:
///
/// - the **identity** is the blake3 hash of the function's tokens (signature and body),
///   computed at compile time. Comments, doc comments, formatting and trailing commas do not
///   count; any other edit does, and so do the `capture`, `capture_once`, `env`, `files` and
///   `deps` options, and so does every item of your code the function depends on,
///   transitively (see the README's *What invalidates a cache*).
/// - the **call hash** is the [`ObjectHash`](derive@ObjectHash) of every argument (reference
///   parameters such as `&str`, `&[T]` or `&MyStruct` hash what they point to), the names
///   of generic type arguments, and the values of `capture`, `capture_once`, `env` and
///   `files`.
///
/// The return type decides what is stored, by its syntax: a type whose last path segment is
/// `Result` with a generic argument (`Result<T, E>`, `io::Result<T>`) stores only `Ok(T)` and
/// returns errors without caching them; any other type (`Option<T>` included, so `None` is
/// cached) is stored whole. Stored values need `serde::Serialize + serde::de::DeserializeOwned`.
///
/// # Options
///
/// Each option may be given once; errors point at the offending token.
///
/// | option | value | meaning |
/// |---|---|---|
/// | `storage` | `"fs"`, `"memory"`, `"mmap"`, `"s3://bucket/prefix"`, tiers `"memory,fs"`; or an expression giving an `impl IntoStorage` | where entries live (default: `CHECKPOINTER_STORAGE`, `checkpointer.toml`, else `"fs"`) |
/// | `using` | an expression giving a `Checkpointer` or a reference to one (a `static`, a `LazyLock`) | a preset all other options start from |
/// | `directory` | an expression giving an `impl Into<PathBuf>` | base directory of the fs and mmap stores |
/// | `verbosity` | the literal `0`, `1` or `2` | silent; computed and corrupt-entry lines (default); also hits |
/// | `expiry` | a duration string (`"90s"`, `"1h 30m"`, `"7d"`, checked at compile time); or an expression giving a `Duration` or a `Fn(SystemTime) -> bool` on the entry's creation time | when entries stop being valid |
/// | `fn_hash_from` | any `ObjectHash` expression (`"v2"`) | replaces the identity: the cache survives code edits until this value changes |
/// | `when` | a `bool` expression, evaluated on every call; it may read the arguments | `false`: run the function, touch no cache |
/// | `on_error` | `"warn"` (default), `"raise"`, `"ignore"` | what a failing cache does: warn once and compute; return the error (needs `Result<T, E>` with `E: From<CheckpointError>`); compute silently |
/// | `capture(NAME, …)` | paths of statics or consts | their values join the call hash on every call |
/// | `capture_once(NAME, …)` | paths of statics or consts | their values join the call hash, read once per process (again after `reinit()`) |
/// | `env("VAR", …)` | string literals | environment variables whose values join the call hash |
/// | `files("path", …)` | string literals (relative to the working directory) | files whose contents join the call hash (re-read unless size, modification and change times, inode and device are all unchanged; a path that is not a readable file warns once) |
/// | `deps(path, …)` | paths | extra items the identity depends on, followed like a use in the body (for code static analysis cannot see: a function pointer, an item only a procedural macro generates) |
///
/// With the `Checkpointer::capture()` preset (`using = Checkpointer::capture()`), every
/// SCREAMING_CASE static or const the body names is also hashed on every call, if its type
/// implements `ObjectHash` (others are skipped).
///
/// # Parameter attributes
///
/// - `#[no_hash]`: the argument does not enter the call hash (a logger, a progress bar).
/// - `#[hash_by(path::to::fn)]`: the call hash takes `path(&arg)`, which must implement
///   `ObjectHash`. Use it for types without an `ObjectHash` impl, or to hash less.
///
/// # Companion functions
///
/// For a free function `fn square(x: u64) -> u64`, the macro also emits, with the function's
/// visibility, a type `square` (an uninhabited `enum`: types and functions live in different
/// namespaces) whose associated functions are the companions, each taking the same
/// parameters as `square`. They are called like a module's functions:
///
/// | call | does |
/// |---|---|
/// | `square(4)` | cached call |
/// | `square::rerun(4)` | run and overwrite the entry |
/// | `square::uncached(4)` | run the original, touch no cache |
/// | `square::get(4)` | the cached value, or `Err(CheckpointError)` |
/// | `square::get_or(default, 4)` | the cached value, or `default` |
/// | `square::exists(4)` | whether a valid entry exists |
/// | `square::delete(4)` | remove the entry from every tier |
/// | `square::set(value, 4)` | store `value` without running |
/// | `square::call_hash(4)` | the call hash |
/// | `square::reinit()` | re-resolve options, identity and `capture_once` values |
/// | `square::handle()` | the `CachedFn`: identity, `config`, `stats`, `cleanup`, `clear` |
///
/// For an `async fn`, the companions that touch storage (`rerun`, `uncached`, `get`,
/// `get_or`, `exists`, `delete`, `set`) are `async` too. Sync functions drive storage with
/// checkpointer's own thread-parking `block_on`, so they may be called inside any async
/// runtime, tokio included.
///
/// A type rather than a module, because a module's functions could not see the items of a
/// block: this way a cached function works the same at module level and inside another
/// function's body (a `main`, a test, a doctest).
///
/// # Methods
///
/// In an inherent `impl` block, every function becomes a cached method or associated
/// function (the macro finds its own line in the source to tell; code generated by another
/// macro is judged by its syntax: a receiver or a use of `Self`). Types cannot be
/// declared in impls, so the companions are associated functions named after the method:
/// `area_rerun`, `area_uncached`, `area_get`, `area_get_or`, `area_exists`, `area_delete`,
/// `area_set`, `area_call_hash` (taking `&self`, or the method's own receiver for `rerun`
/// and `uncached`) and `area_reinit()`, `area_handle()`:
///
/// ```
/// # use checkpointer::{checkpoint, ObjectHash};
/// #[derive(ObjectHash)]
/// struct Circle { r: u32 }
///
/// impl Circle {
///     #[checkpoint(storage = "memory")]
///     fn area(&self) -> f64 { 3.14159 * f64::from(self.r).powi(2) }
/// }
///
/// let c = Circle { r: 2 };
/// c.area();
/// assert!(c.area_exists().unwrap());
/// ```
///
/// The receiver is part of the call hash, so `Self` must implement `ObjectHash`, and so is
/// the name of `Self`: two types' methods never share entries. Methods of trait impls are
/// refused with a compile error (a trait impl can hold only the trait's items): put
/// `#[checkpoint]` on an inherent method or a free function and call it from the trait
/// method. Option expressions are evaluated outside the impl, so they cannot name `Self`.
#[proc_macro_attribute]
pub fn checkpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    let opts = match syn::parse::<options::Options>(attr) {
        Ok(o) => o,
        Err(e) => return with_item(e, item),
    };
    let func = match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = syn::Error::new(
                e.span(),
                format!("`#[checkpoint]` goes on a function with a body: {e}"),
            );
            return e.to_compile_error().into();
        }
    };
    match expand::expand(opts, func) {
        Ok(ts) => ts.into(),
        Err(e) => with_item(e, item),
    }
}

/// The error, plus the item unchanged, so one bad option does not also make every use of
/// the function an error.
fn with_item(e: syn::Error, item: TokenStream) -> TokenStream {
    let mut out: TokenStream = e.to_compile_error().into();
    out.extend(strip_param_attrs(item));
    out
}

/// The item without our parameter attributes (which are not real attributes on their own).
fn strip_param_attrs(item: TokenStream) -> TokenStream {
    match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(mut f) => {
            for arg in &mut f.sig.inputs {
                if let syn::FnArg::Typed(pt) = arg {
                    pt.attrs
                        .retain(|a| !a.path().is_ident("no_hash") && !a.path().is_ident("hash_by"));
                }
            }
            quote::ToTokens::into_token_stream(f).into()
        }
        Err(_) => item,
    }
}

/// Derives `ObjectHash` for a struct or an enum.
///
/// A struct hashes its name, its field count and each field (named fields with their names);
/// an enum hashes its name, the variant's name and the variant's fields. So types or
/// variants with equal contents but different names never collide. Generic type parameters
/// get an `ObjectHash` bound.
///
/// Field attributes:
///
/// - `#[hash(skip)]`: the field is not hashed (a cache, a handle, a timestamp).
/// - `#[hash(by = path::to::fn)]`: hashes `path(&self.field)`, which must implement
///   `ObjectHash` (for field types without an impl, or to hash a summary).
///
/// ```
/// use checkpointer::ObjectHash;
/// # struct ProgressBar;
///
/// #[derive(ObjectHash)]
/// struct Query {
///     text: String,
///     #[hash(by = round)]
///     threshold: f64,
///     #[hash(skip)]
///     progress: Option<ProgressBar>,
/// }
///
/// fn round(x: &f64) -> i64 { (x * 1000.0).round() as i64 }
/// ```
///
/// Unions are rejected: which field is live is unknown, so implement `ObjectHash` by hand.
#[proc_macro_derive(ObjectHash, attributes(hash))]
pub fn derive_object_hash(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::derive(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
