//! Parsing of the `#[checkpoint(...)]` options.
//!
//! Every option may appear once. Values that can be checked at compile time (verbosity,
//! duration strings, `on_error`) are checked here, and every error points at the offending
//! token and names the accepted values.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

/// Every option name, in the order the documentation lists them.
pub const OPTION_NAMES: &str =
    "storage, using, directory, verbosity, expiry, fn_hash_from, when, on_error, compress, capture, capture_once, env, files, deps";

/// `storage = …`.
// Parsed once per attribute; the size of a syn expression does not matter here.
#[allow(clippy::large_enum_variant)]
pub enum StorageOpt {
    /// A spec string: `"memory,fs"`.
    Spec(LitStr),
    /// An expression giving an `impl IntoStorage`.
    Expr(Expr),
}

/// `expiry = …`.
// Parsed once per attribute; the size of a syn expression does not matter here.
#[allow(clippy::large_enum_variant)]
pub enum ExpiryOpt {
    /// A duration string, validated at compile time, in nanoseconds.
    Duration(u64),
    /// An expression giving an `impl IntoExpiry`.
    Expr(Expr),
}

/// `on_error = "…"`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnErrorOpt {
    Warn,
    Raise,
    Ignore,
}

/// The parsed options of one `#[checkpoint(...)]`.
#[derive(Default)]
pub struct Options {
    pub storage: Option<StorageOpt>,
    pub using: Option<Expr>,
    pub directory: Option<Expr>,
    pub verbosity: Option<u8>,
    pub expiry: Option<ExpiryOpt>,
    pub fn_hash_from: Option<Expr>,
    pub when: Option<Expr>,
    /// The value and the string literal it came from (for the `raise` return-type check).
    pub on_error: Option<(OnErrorOpt, LitStr)>,
    /// `compress = "zstd" | "zstd:LEVEL" | "none"`: `Some(level)` or `None` for "none".
    pub compress: Option<Option<i32>>,
    pub capture: Vec<Path>,
    pub capture_once: Vec<Path>,
    /// `&'static str` expressions, string literals mostly.
    pub env: Vec<Expr>,
    /// `&'static str` expressions, string literals mostly.
    pub files: Vec<Expr>,
    pub deps: Vec<Path>,
    /// The tokens of the options that are part of the identity hash (`deps`, the capture
    /// lists, `env` and `files`), in source order.
    pub identity_tokens: TokenStream,
}

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut opts = Options::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let name: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            let key = name.to_string();
            if !OPTION_NAMES.split(", ").any(|n| n == key) {
                let hint = closest(&key, OPTION_NAMES.split(", "))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(syn::Error::new(
                    name.span(),
                    format!("unknown `checkpoint` option `{key}`{hint}; expected one of: {OPTION_NAMES}"),
                ));
            }
            if seen.contains(&key) {
                let hint = if is_list(&key) {
                    format!("; list every value in one `{key}(…)`")
                } else {
                    String::new()
                };
                return Err(syn::Error::new(
                    name.span(),
                    format!("duplicate `checkpoint` option `{key}`{hint}"),
                ));
            }
            seen.push(key.clone());
            if is_list(&key) {
                opts.parse_list(&name, input)?;
            } else {
                opts.parse_value(&name, input)?;
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(opts)
    }
}

fn is_list(key: &str) -> bool {
    matches!(key, "capture" | "capture_once" | "env" | "files" | "deps")
}

impl Options {
    /// `name = value` options.
    fn parse_value(&mut self, name: &Ident, input: ParseStream) -> syn::Result<()> {
        let key = name.to_string();
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!("`{key}` takes a value: `{key} = {}`", value_hint(&key)),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        match key.as_str() {
            "storage" => {
                self.storage = Some(match str_lit(&value) {
                    Some(s) if s.value().trim().is_empty() => {
                        return Err(syn::Error::new_spanned(
                            &value,
                            "`storage` must not be empty: expected a spec such as \"fs\", \"memory\", \"memory,fs\" or \"s3://bucket/prefix\"",
                        ))
                    }
                    Some(s) => {
                        crate::storage_spec::features(s)?;
                        StorageOpt::Spec(s.clone())
                    }
                    None => StorageOpt::Expr(value),
                })
            }
            "using" => self.using = Some(value),
            "directory" => self.directory = Some(value),
            "verbosity" => {
                let level = match &value {
                    Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse::<u8>().ok().filter(|v| *v <= 2),
                    _ => None,
                };
                let Some(level) = level else {
                    return Err(syn::Error::new_spanned(
                        &value,
                        "`verbosity` must be the literal 0 (silent), 1 (computed and corrupt entries) or 2 (also hits)",
                    ));
                };
                self.verbosity = Some(level);
            }
            "expiry" => {
                self.expiry = Some(match str_lit(&value) {
                    Some(s) => {
                        let d = humantime::parse_duration(&s.value()).map_err(|e| {
                            syn::Error::new_spanned(
                                s,
                                format!(
                                    "`expiry` = {:?} is not a duration ({e}); expected a string such as \"90s\", \"1h 30m\" or \"7d\", or an expression giving a `Duration` or a `fn(SystemTime) -> bool`",
                                    s.value()
                                ),
                            )
                        })?;
                        let nanos = u64::try_from(d.as_nanos()).map_err(|_| {
                            syn::Error::new_spanned(s, "`expiry` is too long: at most about 584 years")
                        })?;
                        ExpiryOpt::Duration(nanos)
                    }
                    None => ExpiryOpt::Expr(value),
                })
            }
            "fn_hash_from" => self.fn_hash_from = Some(value),
            "when" => self.when = Some(value),
            "on_error" => {
                let parsed = str_lit(&value).and_then(|s| {
                    let v = match s.value().as_str() {
                        "warn" => OnErrorOpt::Warn,
                        "raise" => OnErrorOpt::Raise,
                        "ignore" => OnErrorOpt::Ignore,
                        _ => return None,
                    };
                    Some((v, s.clone()))
                });
                let Some(parsed) = parsed else {
                    return Err(syn::Error::new_spanned(&value, "`on_error` must be \"warn\", \"raise\" or \"ignore\""));
                };
                self.on_error = Some(parsed);
            }
            "compress" => {
                let bad = || {
                    syn::Error::new_spanned(
                        &value,
                        "`compress` must be \"zstd\", \"zstd:LEVEL\" (LEVEL from -7 to 22) or \"none\"",
                    )
                };
                let s = str_lit(&value).ok_or_else(bad)?.value();
                self.compress = Some(match s.as_str() {
                    "none" | "off" => None,
                    "zstd" => Some(3),
                    other => {
                        let level: i32 = other
                            .strip_prefix("zstd:")
                            .and_then(|l| l.parse().ok())
                            .filter(|l| (-7..=22).contains(l))
                            .ok_or_else(bad)?;
                        Some(level)
                    }
                });
            }
            _ => unreachable!("list options are parsed by parse_list"),
        }
        Ok(())
    }

    /// `name(a, b, …)` options.
    fn parse_list(&mut self, name: &Ident, input: ParseStream) -> syn::Result<()> {
        let key = name.to_string();
        if !input.peek(syn::token::Paren) {
            return Err(syn::Error::new(
                name.span(),
                format!("`{key}` takes a list: `{key}({})`", value_hint(&key)),
            ));
        }
        let content;
        let paren = syn::parenthesized!(content in input);
        let group_tokens: TokenStream = content.fork().parse()?;
        let mut names: Vec<String> = Vec::new();
        let mut check_dup = |text: String, span: Span| {
            if names.contains(&text) {
                return Err(syn::Error::new(
                    span,
                    format!("`{text}` is listed twice in `{key}`"),
                ));
            }
            names.push(text);
            Ok(())
        };
        match key.as_str() {
            "env" | "files" => {
                let what = if key == "env" {
                    "environment variable names"
                } else {
                    "file paths"
                };
                let items = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
                let mut values = Vec::new();
                for item in items {
                    match &item {
                        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => {
                            if s.value().is_empty() {
                                return Err(syn::Error::new_spanned(s, format!("`{key}` entries must not be empty")));
                            }
                            check_dup(s.value(), s.span())?;
                        }
                        // `concat!(env!("CARGO_MANIFEST_DIR"), "/data.csv")`, a `const`.
                        Expr::Macro(_) | Expr::Path(_) => check_dup(item.to_token_stream().to_string(), item.span())?,
                        _ => {
                            return Err(syn::Error::new_spanned(
                                &item,
                                format!("`{key}` takes string literals ({what}) or `&'static str` constants: `{key}({})`", value_hint(&key)),
                            ))
                        }
                    }
                    values.push(item);
                }
                if key == "env" {
                    self.env = values;
                } else {
                    self.files = values;
                }
            }
            _ => {
                let items = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?;
                let mut paths = Vec::new();
                for item in items {
                    let Expr::Path(p) = &item else {
                        return Err(syn::Error::new_spanned(
                            &item,
                            format!("`{key}` takes paths: `{key}({})`", value_hint(&key)),
                        ));
                    };
                    if p.qself.is_some() {
                        return Err(syn::Error::new_spanned(
                            &item,
                            format!("`{key}` takes plain paths, not qualified ones"),
                        ));
                    }
                    check_dup(path_text(&p.path), span_of(&p.path))?;
                    paths.push(p.path.clone());
                }
                match key.as_str() {
                    "capture" => self.capture = paths,
                    "capture_once" => self.capture_once = paths,
                    _ => self.deps = paths,
                }
            }
        }
        if names.is_empty() {
            return Err(syn::Error::new(
                paren.span.join(),
                format!(
                    "`{key}(…)` needs at least one entry: `{key}({})`",
                    value_hint(&key)
                ),
            ));
        }
        // These options change what a call hash means, so they are part of the identity.
        name.to_tokens(&mut self.identity_tokens);
        let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, group_tokens);
        group.set_span(paren.span.join());
        group.to_tokens(&mut self.identity_tokens);
        Ok(())
    }
}

fn value_hint(key: &str) -> &'static str {
    match key {
        "storage" => "\"memory,fs\"",
        "using" => "PRESET",
        "directory" => "\"path/to/dir\"",
        "verbosity" => "0 | 1 | 2",
        "expiry" => "\"7d\"",
        "fn_hash_from" => "\"v2\"",
        "when" => "BOOL_EXPR",
        "on_error" => "\"warn\" | \"raise\" | \"ignore\"",
        "compress" => "\"zstd\" | \"zstd:LEVEL\" | \"none\"",
        "env" => "\"VAR\", …",
        "files" => "\"path/to/file\", …",
        "deps" => "path::to::item, …",
        _ => "NAME, …",
    }
}

fn str_lit(e: &Expr) -> Option<&LitStr> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        Expr::Group(g) => str_lit(&g.expr),
        _ => None,
    }
}

/// A path as written, without spaces: `config::LIMIT`.
pub fn path_text(p: &Path) -> String {
    p.to_token_stream().to_string().replace(' ', "")
}

fn span_of(p: &Path) -> Span {
    p.span()
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_option() {
        assert_eq!(closest("storag", OPTION_NAMES.split(", ")), Some("storage"));
        assert_eq!(
            closest("captur_once", OPTION_NAMES.split(", ")),
            Some("capture_once")
        );
        assert_eq!(closest("zzz", OPTION_NAMES.split(", ")), None);
    }

    #[test]
    fn every_option_parses() {
        let opts: Options = syn::parse_quote! {
            storage = "memory,fs", using = PRESET, directory = "/tmp/x", verbosity = 2,
            expiry = "1h 30m", fn_hash_from = "v2", when = cfg!(not(test)), on_error = "raise",
            capture(A, b::C), capture_once(D), env("HOME"), files("a.txt"), deps(helper),
        };
        assert!(matches!(opts.storage, Some(StorageOpt::Spec(_))));
        assert!(matches!(opts.expiry, Some(ExpiryOpt::Duration(n)) if n == 5_400_000_000_000));
        assert!(matches!(opts.on_error, Some((OnErrorOpt::Raise, _))));
        assert_eq!(opts.verbosity, Some(2));
        assert_eq!(opts.capture.len(), 2);
        assert_eq!(
            (
                opts.capture_once.len(),
                opts.env.len(),
                opts.files.len(),
                opts.deps.len()
            ),
            (1, 1, 1, 1)
        );
        assert!(
            opts.using.is_some()
                && opts.directory.is_some()
                && opts.fn_hash_from.is_some()
                && opts.when.is_some()
        );
    }

    #[test]
    fn bad_values_are_errors() {
        for bad in [
            quote::quote!(verbosity = 3),
            quote::quote!(verbosity = x),
            quote::quote!(expiry = "soon"),
            quote::quote!(on_error = "panic"),
            quote::quote!(on_error = warn),
            quote::quote!(capture = X),
            quote::quote!(capture()),
            quote::quote!(env(1)),
            quote::quote!(env("A", "A")),
            quote::quote!(storage = ""),
            quote::quote!(when),
            quote::quote!(verbosity = 1, verbosity = 1),
            quote::quote!(colour = true),
        ] {
            assert!(syn::parse2::<Options>(bad.clone()).is_err(), "{bad}");
        }
    }
}
