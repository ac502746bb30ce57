//! Downloading a photo someone linked or attached, before ingest sees its bytes.
//!
//! A stranger's message decides which URL the frame fetches, so every fetch is fenced: only
//! hosts on `[limits] allowed_hosts` (Discord's CDN by default; a redirect elsewhere is
//! refused too, so a link cannot bounce the frame onto the LAN), at most
//! `[limits] max_download_mb` (counted as bytes arrive, not trusted from a header), with
//! timeouts, and retried with backoff only when the server had a passing problem (5xx, a
//! dropped connection), never on an answer like 404.

use std::time::Duration;

use reqwest::{redirect, StatusCode, Url};

/// How downloads are fenced. Built from `[limits]`.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Host names (lower case) a photo may come from; a URL with a port matches its host.
    pub allowed_hosts: Vec<String>,
    /// The most bytes one download may have.
    pub max_bytes: u64,
    /// How many times a download is tried in all (retries = attempts - 1).
    pub attempts: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub backoff: Duration,
    /// The whole of one attempt, connection to last byte.
    pub timeout: Duration,
}

impl FetchPolicy {
    pub fn new(allowed_hosts: &[String], max_download_mb: u64) -> FetchPolicy {
        FetchPolicy {
            allowed_hosts: allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
            max_bytes: max_download_mb.saturating_mul(1024 * 1024),
            attempts: 3,
            backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(30),
        }
    }

    /// Whether the frame may download from this URL.
    pub fn allows(&self, url: &Url) -> bool {
        matches!(url.scheme(), "http" | "https")
            && url
                .host_str()
                .is_some_and(|h| self.allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)))
    }
}

/// Why a download failed, in words for the person who sent the photo.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("that is not a web address the frame can download from")]
    BadUrl,
    #[error(
        "the frame does not download from {host} (only from the hosts in [limits] \
         allowed_hosts): attach the photo instead of linking it"
    )]
    HostNotAllowed { host: String },
    #[error("the photo is over the frame's {limit_mb} MB download limit: send a smaller one")]
    TooLarge { limit_mb: u64 },
    #[error("the download failed: the server answered {0}")]
    Status(StatusCode),
    #[error("the download failed: {0}")]
    Network(String),
    /// A redirect off the allowed hosts, or too many of them: trying again will not help.
    #[error("the download failed: {0}")]
    Redirect(String),
}

impl FetchError {
    /// Worth another try: the server or the network had a passing problem.
    fn is_transient(&self) -> bool {
        match self {
            FetchError::Status(s) => s.is_server_error() || *s == StatusCode::TOO_MANY_REQUESTS,
            FetchError::Network(_) => true,
            _ => false,
        }
    }
}

/// Downloads photos under a [`FetchPolicy`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: std::sync::Arc<FetchPolicy>,
}

impl Fetcher {
    /// Fails only when the TLS backend cannot initialise (a broken build, nothing a user did);
    /// there is no fallback client, which would have neither the timeouts nor the redirect
    /// check.
    pub fn new(policy: FetchPolicy) -> Result<Fetcher, reqwest::Error> {
        let policy = std::sync::Arc::new(policy);
        let for_redirects = policy.clone();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(policy.timeout)
            .redirect(redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    attempt.error("too many redirects")
                } else if for_redirects.allows(attempt.url()) {
                    attempt.follow()
                } else {
                    let host = attempt.url().host_str().unwrap_or("?").to_owned();
                    attempt.error(format!("redirected to {host}, which is not an allowed host"))
                }
            }))
            .user_agent(concat!("discord-frame/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher { client, policy })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Downloads `url`, retrying passing failures with backoff.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let url = Url::parse(url).map_err(|_| FetchError::BadUrl)?;
        if !self.policy.allows(&url) {
            return Err(match url.host_str() {
                Some(host) => FetchError::HostNotAllowed { host: host.to_owned() },
                None => FetchError::BadUrl,
            });
        }
        let mut wait = self.policy.backoff;
        let mut attempt = 1;
        loop {
            match self.fetch_once(&url).await {
                Err(e) if e.is_transient() && attempt < self.policy.attempts => {
                    let url = loggable(url.as_str());
                    tracing::debug!("download of {url} failed ({e}); retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn fetch_once(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let limit = self.policy.max_bytes;
        let too_large = || FetchError::TooLarge { limit_mb: limit / (1024 * 1024) };
        let response = self.client.get(url.clone()).send().await.map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status));
        }
        read_capped(response, limit).await.map_err(network)?.ok_or_else(too_large)
    }
}

/// A response's body, read as it comes and given up (`None`) as soon as it is over `limit`
/// bytes: a server's `Content-Length` is not trusted to be there or to be true.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// `url` without its query and fragment, for logs: Discord's CDN links are signed in their
/// query (`?ex=…&is=…&hm=…`), which gives whoever reads the log a day's access to the photo.
pub fn loggable(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut url) => {
            let signed = url.query().is_some();
            url.set_query(None);
            url.set_fragment(None);
            if signed {
                format!("{url}?…")
            } else {
                url.to_string()
            }
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

fn network(e: reqwest::Error) -> FetchError {
    use std::error::Error;
    let e = e.without_url();
    // reqwest's own message is "error sending request for url (…)"; the cause says why.
    let mut message = if e.is_timeout() { "it timed out".to_owned() } else { e.to_string() };
    let mut source = e.source();
    while let Some(s) = source {
        message = s.to_string();
        source = s.source();
    }
    if e.is_redirect() {
        FetchError::Redirect(message)
    } else {
        FetchError::Network(message)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::http::StatusCode as Code;
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    use axum::Router;

    use super::*;

    /// A server on loopback: `/photo` (1 KiB), `/flaky` (503 twice, then the photo),
    /// `/gone` (404), `/big` (2 MiB), `/away` (a redirect off the allowed hosts).
    async fn server(hits: Arc<AtomicUsize>) -> String {
        let flaky_hits = hits.clone();
        let app = Router::new()
            .route("/photo", get(|| async { vec![7u8; 1024] }))
            .route(
                "/flaky",
                get(move || {
                    let n = flaky_hits.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if n < 2 {
                            Code::SERVICE_UNAVAILABLE.into_response()
                        } else {
                            vec![1u8; 10].into_response()
                        }
                    }
                }),
            )
            .route(
                "/gone",
                get(move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    async { Code::NOT_FOUND }
                }),
            )
            .route("/big", get(|| async { vec![0u8; 2 * 1024 * 1024] }))
            .route("/away", get(|| async { Redirect::temporary("http://localhost:9/photo") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn fetcher() -> Fetcher {
        let mut policy = FetchPolicy::new(&["127.0.0.1".to_owned()], 1);
        policy.backoff = Duration::from_millis(1);
        Fetcher::new(policy).unwrap()
    }

    #[tokio::test]
    async fn downloads_from_an_allowed_host() {
        let base = server(Arc::default()).await;
        assert_eq!(fetcher().fetch(&format!("{base}/photo")).await.expect("fetch").len(), 1024);
    }

    #[tokio::test]
    async fn retries_server_errors_but_not_a_404() {
        let hits = Arc::new(AtomicUsize::new(0));
        let base = server(hits.clone()).await;
        assert_eq!(fetcher().fetch(&format!("{base}/flaky")).await.expect("third try"), [1; 10]);
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        hits.store(0, Ordering::SeqCst);
        let e = fetcher().fetch(&format!("{base}/gone")).await.expect_err("404");
        assert!(matches!(e, FetchError::Status(Code::NOT_FOUND)), "{e}");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "a 404 is not retried");
    }

    #[tokio::test]
    async fn refuses_other_hosts_big_files_and_redirects_away() {
        let base = server(Arc::default()).await;
        let f = fetcher();
        let e = f.fetch(&base.replace("127.0.0.1", "localhost")).await.expect_err("host");
        assert_eq!(
            e.to_string(),
            "the frame does not download from localhost (only from the hosts in [limits] \
             allowed_hosts): attach the photo instead of linking it"
        );
        let e = f.fetch(&format!("{base}/big")).await.expect_err("size");
        assert_eq!(
            e.to_string(),
            "the photo is over the frame's 1 MB download limit: send a smaller one"
        );
        let e = f.fetch(&format!("{base}/away")).await.expect_err("redirect");
        assert!(e.to_string().contains("not an allowed host"), "{e}");
        let e = f.fetch("file:///etc/passwd").await.expect_err("scheme");
        assert!(matches!(e, FetchError::BadUrl | FetchError::HostNotAllowed { .. }), "{e}");
    }

    #[test]
    fn logged_urls_keep_no_signature() {
        let signed = "https://cdn.discordapp.com/attachments/1/2/cat.jpg?ex=65&is=64&hm=abc#x";
        assert_eq!(loggable(signed), "https://cdn.discordapp.com/attachments/1/2/cat.jpg?…");
        assert_eq!(loggable("https://i.imgur.com/a.png"), "https://i.imgur.com/a.png");
        assert_eq!(loggable("not a url ?hm=abc"), "(not a URL)");
    }
}
