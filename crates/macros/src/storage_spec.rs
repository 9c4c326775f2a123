//! Literal storage specs (`storage = "memory,fs"`), checked where they are written: every tier
//! must be one the facade knows, and the Cargo feature each tier needs is checked in the
//! generated code against the features the facade was built with (see the facade's
//! `features.rs`), so the error names the feature to enable and points at the spec.

use crate::options::closest;
use proc_macro2::TokenStream;
use quote::{format_ident, quote_spanned};
use syn::LitStr;

/// The tier names the facade opens, besides `s3://bucket/prefix`.
const NAMED: &[(&str, &str)] = &[
    ("fs", "fs"),
    ("memory", "mem"),
    ("mem", "mem"),
    ("mmap", "mmap"),
];

/// The Cargo feature of the facade each tier of `spec` needs, or an error at the literal
/// naming the bad tier and what was meant.
pub fn features(spec: &LitStr) -> syn::Result<Vec<&'static str>> {
    let text = spec.value();
    let mut needed = Vec::new();
    for tier in text.split(',').map(str::trim) {
        let feature = tier_feature(tier).map_err(|msg| syn::Error::new(spec.span(), msg))?;
        if !needed.contains(&feature) {
            needed.push(feature);
        }
    }
    Ok(needed)
}

fn tier_feature(tier: &str) -> Result<&'static str, String> {
    const EXPECTED: &str =
        "expected \"fs\", \"memory\", \"mmap\" or \"s3://bucket/prefix\", or tiers of these joined by commas, top first (\"memory,fs\")";
    if tier.is_empty() {
        return Err(format!("storage spec has an empty tier: {EXPECTED}"));
    }
    // A read-only tier (`ro:s3://…`) needs what the tier under it needs; the runtime opens it
    // the same way (core's `read_only::open_tier`).
    if let Some(inner) = tier.strip_prefix("ro:") {
        let inner = inner.trim();
        if inner.is_empty() || inner.starts_with("ro:") {
            return Err(format!(
                "storage tier {tier:?}: `ro:` must be followed by one tier, such as \"ro:fs\" or \"ro:s3://bucket/prefix\""
            ));
        }
        return tier_feature(inner);
    }
    if let Some((_, feature)) = NAMED.iter().find(|(name, _)| *name == tier) {
        return Ok(feature);
    }
    if let Some(rest) = tier.strip_prefix("s3://") {
        if rest.split('/').next().unwrap_or("").is_empty() {
            return Err(format!(
                "storage tier {tier:?} names no bucket: expected \"s3://bucket/prefix\""
            ));
        }
        return Ok("s3");
    }
    let lower = tier.to_ascii_lowercase();
    let hint = if lower.starts_with("s3") {
        "did you mean \"s3://bucket/prefix\"? (lower-case `s3://`, then the bucket)".to_string()
    } else if let Some(name) = closest(&lower, NAMED.iter().map(|(n, _)| *n)) {
        format!("did you mean \"{name}\"?")
    } else {
        EXPECTED.to_string()
    };
    Err(format!("unknown storage tier {tier:?}: {hint}"))
}

/// Statements that fail to compile, at the spec, when the facade lacks a needed feature.
pub fn feature_checks(spec: &LitStr, features: &[&str]) -> TokenStream {
    let span = spec.span();
    features
        .iter()
        .map(|f| {
            let check = format_ident!("__checkpointer_requires_{}", f, span = span);
            quote_spanned!(span=> ::checkpointer::#check!();)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str) -> Result<Vec<&'static str>, String> {
        features(&LitStr::new(spec, proc_macro2::Span::call_site())).map_err(|e| e.to_string())
    }

    #[test]
    fn known_tiers_name_their_features() {
        assert_eq!(check("fs").unwrap(), ["fs"]);
        assert_eq!(check("memory, fs").unwrap(), ["mem", "fs"]);
        assert_eq!(check("mem,memory,s3://b/p").unwrap(), ["mem", "s3"]);
        assert_eq!(check("mmap").unwrap(), ["mmap"]);
        assert_eq!(check("memory,fs,ro:s3://b/p").unwrap(), ["mem", "fs", "s3"]);
        assert_eq!(check("ro: fs").unwrap(), ["fs"]);
    }

    #[test]
    fn read_only_tiers_need_one_known_tier() {
        assert!(check("ro:").unwrap_err().contains("followed by one tier"));
        assert!(check("ro:ro:fs")
            .unwrap_err()
            .contains("followed by one tier"));
        assert!(check("ro:memroy")
            .unwrap_err()
            .contains("did you mean \"memory\""));
    }

    #[test]
    fn mistakes_get_a_did_you_mean() {
        assert!(check("memroy")
            .unwrap_err()
            .contains("did you mean \"memory\""));
        assert!(check("FS").unwrap_err().contains("did you mean \"fs\""));
        assert!(check("memory,,fs").unwrap_err().contains("empty tier"));
        assert!(check("S3://bucket")
            .unwrap_err()
            .contains("s3://bucket/prefix"));
        assert!(check("s3:/bucket")
            .unwrap_err()
            .contains("did you mean \"s3://"));
        assert!(check("s3://").unwrap_err().contains("no bucket"));
        assert!(check("redis://x").unwrap_err().contains("expected \"fs\""));
    }
}
