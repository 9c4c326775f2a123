//! Opening a store by URL: which object store a scheme names, and its client configured from
//! the standard environment exactly as object_store's `from_env()` builders read it, over this
//! crate's defaults (timeouts, retries), then [`S3Options::endpoint`] and [`S3Options::config`].

use crate::{S3Error, S3Options};
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use std::sync::Arc;
use std::time::Duration;

/// The object stores a URL can name. Each needs a Cargo feature of this crate but S3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `s3://bucket/prefix` (`s3a://` too).
    S3,
    /// `gs://bucket/prefix` (feature `gcs`).
    Gcs,
    /// `az://container/prefix`, `abfs[s]://container/prefix` or
    /// `abfs[s]://container@account.dfs.core.windows.net/prefix` (feature `azure`).
    Azure,
}

impl Kind {
    /// The store's name in messages and `Storage::name`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::S3 => "s3",
            Kind::Gcs => "gcs",
            Kind::Azure => "azure",
        }
    }

    /// The Cargo feature (of this crate and of the `checkpointer` facade) it needs.
    pub(crate) fn feature(self) -> &'static str {
        self.name()
    }

    /// The kind a URL scheme names.
    pub(crate) fn of_scheme(scheme: &str) -> Option<Kind> {
        match scheme {
            "s3" | "s3a" => Some(Kind::S3),
            "gs" => Some(Kind::Gcs),
            "az" | "abfs" | "abfss" => Some(Kind::Azure),
            _ => None,
        }
    }
}

/// `scheme://authority/prefix`, split.
#[derive(Debug)]
pub(crate) struct Location<'a> {
    pub(crate) kind: Kind,
    pub(crate) scheme: &'a str,
    /// The bucket or container (for Azure's long form, `container@account.host`).
    pub(crate) authority: &'a str,
    pub(crate) prefix: &'a str,
}

/// The URL forms this crate opens, for messages.
pub(crate) const EXPECTED: &str =
    "expected s3://bucket/prefix, gs://bucket/prefix, az://container/prefix or abfs://container/prefix";

pub(crate) fn parse(url: &str) -> Result<Location<'_>, S3Error> {
    let bad = |reason: String| S3Error::Url {
        url: url.to_string(),
        reason,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad(EXPECTED.to_string()))?;
    let kind = Kind::of_scheme(scheme)
        .ok_or_else(|| bad(format!("unknown scheme `{scheme}://`: {EXPECTED}")))?;
    let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.is_empty() {
        let what = if kind == Kind::Azure {
            "container"
        } else {
            "bucket"
        };
        return Err(bad(format!("the {what} name is empty")));
    }
    Ok(Location {
        kind,
        scheme,
        authority,
        prefix,
    })
}

/// The client options and retries every kind starts from.
fn defaults(options: &S3Options) -> (ClientOptions, RetryConfig) {
    let client = ClientOptions::new()
        .with_connect_timeout(options.connect_timeout)
        .with_timeout(options.request_timeout)
        .with_pool_idle_timeout(Duration::from_secs(30));
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: options.max_retries,
        retry_timeout: options.retry_timeout,
    };
    (client, retry)
}

/// The environment variables starting with `prefix`, keys lower-cased, as `from_env()` reads them.
fn env_pairs(prefix: &str) -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect()
}

/// The client for `loc`, or an error naming the feature this build lacks.
pub(crate) fn client(
    url: &str,
    loc: &Location<'_>,
    options: &S3Options,
) -> Result<Arc<dyn ObjectStore>, S3Error> {
    match loc.kind {
        Kind::S3 => s3(loc, options),
        #[cfg(feature = "gcs")]
        Kind::Gcs => gcs(loc, options),
        #[cfg(feature = "azure")]
        Kind::Azure => azure(loc, options),
        #[allow(unreachable_patterns)]
        kind => Err(S3Error::Feature {
            url: url.to_string(),
            feature: kind.feature(),
        }),
    }
}

fn s3(loc: &Location<'_>, options: &S3Options) -> Result<Arc<dyn ObjectStore>, S3Error> {
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
    let (client, retry) = defaults(options);
    let mut b = AmazonS3Builder::new()
        .with_client_options(client)
        .with_retry(retry);
    // `AmazonS3Builder::from_env`: every `AWS_*` key it knows.
    for (k, v) in env_pairs("AWS_") {
        if let Ok(k) = k.parse::<AmazonS3ConfigKey>() {
            b = b.with_config(k, v);
        }
    }
    if let Some(endpoint) = &options.endpoint {
        b = b.with_endpoint(endpoint);
        if endpoint.starts_with("http://") {
            b = b.with_allow_http(true);
        }
    }
    for (k, v) in &options.config {
        b = b.with_config(k.parse().map_err(S3Error::Config)?, v);
    }
    let store = b
        .with_bucket_name(loc.authority)
        .build()
        .map_err(S3Error::Config)?;
    Ok(Arc::new(store))
}

#[cfg(feature = "gcs")]
fn gcs(loc: &Location<'_>, options: &S3Options) -> Result<Arc<dyn ObjectStore>, S3Error> {
    use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
    let (client, retry) = defaults(options);
    let mut b = GoogleCloudStorageBuilder::new()
        .with_client_options(client)
        .with_retry(retry);
    // `GoogleCloudStorageBuilder::from_env`: `SERVICE_ACCOUNT`, then every `GOOGLE_*` key.
    if let Ok(path) = std::env::var("SERVICE_ACCOUNT") {
        b = b.with_service_account_path(path);
    }
    for (k, v) in env_pairs("GOOGLE_") {
        if let Ok(k) = k.parse::<GoogleConfigKey>() {
            b = b.with_config(k, v);
        }
    }
    if let Some(endpoint) = &options.endpoint {
        b = b.with_config(GoogleConfigKey::BaseUrl, endpoint);
        if endpoint.starts_with("http://") {
            let allow = GoogleConfigKey::Client(object_store::ClientConfigKey::AllowHttp);
            b = b.with_config(allow, "true");
        }
    }
    for (k, v) in &options.config {
        b = b.with_config(k.parse().map_err(S3Error::Config)?, v);
    }
    let store = b
        .with_url(format!("gs://{}", loc.authority))
        .build()
        .map_err(S3Error::Config)?;
    Ok(Arc::new(store))
}

#[cfg(feature = "azure")]
fn azure(loc: &Location<'_>, options: &S3Options) -> Result<Arc<dyn ObjectStore>, S3Error> {
    use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
    let (client, retry) = defaults(options);
    let mut b = MicrosoftAzureBuilder::new()
        .with_client_options(client)
        .with_retry(retry);
    // `MicrosoftAzureBuilder::from_env`: every `AZURE_*` key, then `IDENTITY_ENDPOINT`.
    for (k, v) in env_pairs("AZURE_") {
        if let Ok(k) = k.parse::<AzureConfigKey>() {
            b = b.with_config(k, v);
        }
    }
    if let Ok(endpoint) = std::env::var("IDENTITY_ENDPOINT") {
        b = b.with_msi_endpoint(endpoint);
    }
    if let Some(endpoint) = &options.endpoint {
        b = b.with_endpoint(endpoint.clone());
        if endpoint.starts_with("http://") {
            b = b.with_allow_http(true);
        }
    }
    for (k, v) in &options.config {
        b = b.with_config(k.parse().map_err(S3Error::Config)?, v);
    }
    let store = b
        .with_url(format!("{}://{}", loc.scheme, loc.authority))
        .build()
        .map_err(S3Error::Config)?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::S3Store;
    use checkpointer_core::Storage;

    #[test]
    fn schemes_name_their_store_and_feature() {
        for (url, kind, authority, prefix) in [
            ("s3://b/p/q", Kind::S3, "b", "p/q"),
            ("s3a://b", Kind::S3, "b", ""),
            ("gs://b/p", Kind::Gcs, "b", "p"),
            ("az://c/p", Kind::Azure, "c", "p"),
            ("abfs://c/", Kind::Azure, "c", ""),
            (
                "abfss://c@acct.dfs.core.windows.net/p",
                Kind::Azure,
                "c@acct.dfs.core.windows.net",
                "p",
            ),
        ] {
            let loc = parse(url).unwrap();
            assert_eq!(
                (loc.kind, loc.authority, loc.prefix),
                (kind, authority, prefix),
                "{url}"
            );
        }
        assert_eq!(S3Store::scheme_feature("gs://b"), Some("gcs"));
        assert_eq!(S3Store::scheme_feature("abfs://c"), Some("azure"));
        assert_eq!(S3Store::scheme_feature("s3://b"), Some("s3"));
        assert_eq!(S3Store::scheme_feature("http://b"), None);
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = |url: &str| parse(url).unwrap_err().to_string();
        assert!(err("gs:///p").contains("bucket name is empty"));
        assert!(err("az:///p").contains("container name is empty"));
        assert!(err("redis://x").contains("unknown scheme `redis://`"));
        assert!(err("bucket/prefix").contains("expected s3://"));
    }

    #[cfg(feature = "gcs")]
    #[test]
    fn gcs_is_configured_from_options_without_network() {
        // A service account that needs no OAuth (as emulators use): building does no I/O.
        let o = S3Options {
            config: vec![(
                "google_service_account_key".into(),
                r#"{"private_key": "k", "private_key_id": "id", "client_email": "e", "disable_oauth": true, "gcs_base_url": "http://127.0.0.1:9"}"#.into(),
            )],
            ..S3Options::default()
        };
        let store = S3Store::open_with("gs://bucket/some/prefix/", o).unwrap();
        assert_eq!(store.url(), "gs://bucket/some/prefix");
        assert_eq!(store.name(), "gcs");
        // An unknown configuration key is an error naming it.
        let o = S3Options {
            config: vec![("google_no_such_key".into(), "x".into())],
            ..S3Options::default()
        };
        let err = S3Store::open_with("gs://bucket/p", o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("google_no_such_key"), "{err}");
    }

    #[cfg(feature = "azure")]
    #[test]
    fn azure_urls_are_configured_without_network() {
        let o = S3Options {
            config: vec![
                ("azure_storage_account_name".into(), "acct".into()),
                ("azure_storage_account_key".into(), "a2V5".into()),
            ],
            ..S3Options::default()
        };
        let store = S3Store::open_with("az://container/p", o.clone()).unwrap();
        assert_eq!((store.url(), store.name()), ("az://container/p", "azure"));
        let long = "abfss://container@acct.dfs.core.windows.net/p";
        assert_eq!(S3Store::open_with(long, o.clone()).unwrap().url(), long);
        // object_store rejects a container name it cannot use.
        assert!(S3Store::open_with("az://bad.name/p", o).is_err());
    }
}
