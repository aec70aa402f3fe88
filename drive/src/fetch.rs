//! Fetching a document over HTTPS (LiteLLM's price map), kept out of burnrate-sim, which does
//! no IO; it lives here because this is the crate that speaks HTTP. Self-contained (its own
//! runtime, client and limits).
//!
//! Only `https://` is fetched, except plain `http://` to a loopback host (127.0.0.0/8, ::1,
//! `localhost`): a local mirror or a test server, where TLS protects nothing.

use std::time::Duration;

/// The largest document accepted (LiteLLM's full map is about 1.5 MB).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not a URL: {1}")]
    Url(String, String),
    #[error(
        "`{0}`: only https:// URLs are fetched (plain http:// only from a loopback host such as 127.0.0.1)"
    )]
    Insecure(String),
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("{url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: larger than {MAX_BYTES} bytes")]
    TooLarge { url: String },
}

/// Whether `s` names something to fetch rather than a file path.
pub fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// GETs `url` and returns its body as text, within `timeout` and [`MAX_BYTES`].
pub fn fetch_text(url: &str, timeout: Duration) -> Result<String, FetchError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| FetchError::Url(url.into(), e.to_string()))?;
    let host = parsed.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(FetchError::Insecure(url.into())),
    }
    let http = |e: reqwest::Error| FetchError::Http {
        url: url.into(),
        message: e.to_string(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FetchError::Http {
            url: url.into(),
            message: e.to_string(),
        })?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("burnrate/", env!("CARGO_PKG_VERSION")))
            .https_only(!loopback)
            .build()
            .map_err(http)?;
        let mut response = client.get(parsed).send().await.map_err(http)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.into(),
                status: status.as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(FetchError::TooLarge { url: url.into() });
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|e| FetchError::Http {
            url: url.into(),
            message: format!("not UTF-8 text: {e}"),
        })
    })
}
