//! Literal storage specs (`storage = "memory,fs"`), checked where they are written: every tier
//! must be one the facade knows, and the Cargo feature each tier needs is checked in the
//! generated code against the features the facade was built with (see the facade's
//! `features.rs`), so the error names the feature to enable and points at the spec.

use crate::options::closest;
use proc_macro2::TokenStream;
use quote::{format_ident, quote_spanned};
use syn::LitStr;

/// Object store URL schemes the facade opens, the feature each needs, and the word for the
/// name after the scheme.
const URLS: &[(&str, &str, &str)] = &[
    ("s3://", "s3", "bucket"),
    ("gs://", "gcs", "bucket"),
    ("az://", "azure", "container"),
    ("abfs://", "azure", "container"),
    ("abfss://", "azure", "container"),
];

/// The prefix of a read-only tier (`ro:s3://…`); core's `read_only::PREFIX`.
const READ_ONLY: &str = "ro:";

/// The tier names the facade opens, besides object store URLs.
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
        "expected \"fs\", \"memory\", \"mmap\", \"s3://bucket/prefix\", \"gs://bucket/prefix\" or \"az://container/prefix\" (\"abfs://…\"), each optionally read-only as \"ro:TIER\", or tiers of these joined by commas, top first (\"memory,fs\")";
    if tier.is_empty() {
        return Err(format!("storage spec has an empty tier: {EXPECTED}"));
    }
    if let Some(inner) = tier.strip_prefix(READ_ONLY) {
        let inner = inner.trim();
        if inner.is_empty() || inner.starts_with(READ_ONLY) {
            return Err(format!(
                "storage tier {tier:?}: `ro:` must be followed by one tier, such as \"ro:fs\" or \"ro:s3://bucket/prefix\""
            ));
        }
        return tier_feature(inner);
    }
    if let Some((_, feature)) = NAMED.iter().find(|(name, _)| *name == tier) {
        return Ok(feature);
    }
    for (scheme, feature, what) in URLS {
        if let Some(rest) = tier.strip_prefix(scheme) {
            if rest.split('/').next().unwrap_or("").is_empty() {
                return Err(format!(
                    "storage tier {tier:?} names no {what}: expected \"{scheme}{what}/prefix\""
                ));
            }
            return Ok(feature);
        }
    }
    let lower = tier.to_ascii_lowercase();
    let scheme = lower.split(':').next().unwrap_or("");
    let url = URLS
        .iter()
        .find(|(s, _, _)| !scheme.is_empty() && s.trim_end_matches("://") == scheme);
    let hint = if lower.starts_with("s3") {
        "did you mean \"s3://bucket/prefix\"? (lower-case `s3://`, then the bucket)".to_string()
    } else if let Some((s, _, what)) = url {
        format!("did you mean \"{s}{what}/prefix\"? (lower-case `{s}`, then the {what})")
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
        assert_eq!(check("gs://b/p").unwrap(), ["gcs"]);
        assert_eq!(
            check("memory,az://c/p,abfs://c,abfss://c@acct.dfs.core.windows.net/p").unwrap(),
            ["mem", "azure"]
        );
    }

    #[test]
    fn read_only_tiers_need_their_inner_tiers_feature() {
        assert_eq!(check("memory,fs,ro:s3://b/p").unwrap(), ["mem", "fs", "s3"]);
        assert_eq!(check("ro:az://c/p").unwrap(), ["azure"]);
        assert_eq!(check("ro: gs://b").unwrap(), ["gcs"]);
        assert_eq!(check("ro: fs").unwrap(), ["fs"]);
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
        assert!(check("gs://").unwrap_err().contains("no bucket"));
        assert!(check("az:///p").unwrap_err().contains("no container"));
        assert!(check("AZ://c")
            .unwrap_err()
            .contains("did you mean \"az://container/prefix\""));
        assert!(check("gs:/b").unwrap_err().contains("did you mean \"gs://"));
    }
}
