//! Discord's attachment links expire: since 2024 a `cdn.discordapp.com` or
//! `media.discordapp.net` link carries a signature in its query (`ex`: when it expires, in hex
//! Unix seconds; `is`: when it was issued; `hm`: the signature), and after `ex` the CDN answers
//! 404. Links pasted from elsewhere, forwards of old messages and messages caught up on after a
//! long night can all hold one. Discord's attachment URL refresh endpoint
//! (`POST /attachments/refresh-urls`) signs them again; this module knows such links and asks
//! for new ones.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use serde::Deserialize;

/// The query parameters of a signed link.
const SIGNATURE: [&str; 3] = ["ex", "is", "hm"];

/// Whether `url` is one of Discord's signed attachment links (by its query, whatever the host:
/// the tests serve them from loopback, and a proxy may too).
pub fn is_signed(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| SIGNATURE.iter().all(|k| u.query_pairs().any(|(q, _)| q == *k)))
}

/// Whether a signed link has passed its `ex` at `now` (`false` for a link without one).
pub fn has_expired(url: &str, now: SystemTime) -> bool {
    let Ok(url) = Url::parse(url) else { return false };
    let ex = url.query_pairs().find(|(k, _)| k == "ex").map(|(_, v)| v.into_owned());
    let Some(secs) = ex.and_then(|ex| u64::from_str_radix(&ex, 16).ok()) else { return false };
    now >= UNIX_EPOCH + Duration::from_secs(secs)
}

/// Asks Discord for new signatures, through the bot's REST address.
#[derive(Debug, Clone)]
pub struct Refresher {
    client: reqwest::Client,
    /// `https://discord.com`, or `[discord] api_url`.
    api_base: String,
}

#[derive(Deserialize)]
struct Refreshed {
    refreshed_urls: Vec<RefreshedUrl>,
}

#[derive(Deserialize)]
struct RefreshedUrl {
    original: String,
    refreshed: String,
}

/// Why a link could not be signed again, for the sender (after "the link had expired and").
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("Discord did not answer ({0})")]
    Network(String),
    #[error("Discord refused to renew it ({0})")]
    Refused(reqwest::StatusCode),
    #[error("Discord did not renew it (the file may have been deleted)")]
    NotRenewed,
}

impl Refresher {
    pub fn new(api_url: Option<&str>) -> Result<Refresher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let api_base = api_url.unwrap_or("https://discord.com").trim_end_matches('/').to_owned();
        Ok(Refresher { client, api_base })
    }

    /// A newly signed link for `url`, with the bot's current `token`.
    pub async fn refresh(&self, token: &str, url: &str) -> Result<String, RefreshError> {
        let body = serde_json::json!({ "attachment_urls": [url] });
        let response = self
            .client
            .post(format!("{}/api/v10/attachments/refresh-urls", self.api_base))
            .header(reqwest::header::AUTHORIZATION, format!("Bot {token}"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| RefreshError::Network(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(RefreshError::Refused(response.status()));
        }
        // The answer for one link is a few hundred bytes; a server that sends more is not
        // Discord, and is not read further.
        let bytes = crate::fetch::read_capped(response, 64 * 1024)
            .await
            .map_err(|e| RefreshError::Network(e.without_url().to_string()))?
            .ok_or(RefreshError::NotRenewed)?;
        let refreshed: Refreshed =
            serde_json::from_slice(&bytes).map_err(|_| RefreshError::NotRenewed)?;
        refreshed
            .refreshed_urls
            .into_iter()
            .find(|r| r.original == url && r.refreshed != url)
            .map(|r| r.refreshed)
            .ok_or(RefreshError::NotRenewed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str =
        "https://cdn.discordapp.com/attachments/1/2/cat.jpg?ex=6760a1b0&is=675f5030&hm=0a1b2c&";

    #[test]
    fn a_signed_link_is_known_by_its_query_and_expires_at_ex() {
        assert!(is_signed(LINK));
        assert!(!is_signed("https://cdn.discordapp.com/attachments/1/2/cat.jpg"));
        assert!(!is_signed("https://cdn.discordapp.com/attachments/1/2/cat.jpg?ex=6760a1b0"));
        assert!(!is_signed("not a url"));
        let ex = UNIX_EPOCH + Duration::from_secs(0x6760_a1b0);
        assert!(!has_expired(LINK, ex - Duration::from_secs(1)));
        assert!(has_expired(LINK, ex));
        assert!(!has_expired("https://example.com/a.jpg?ex=zz", ex));
    }
}
