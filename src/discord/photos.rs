//! Finding the photos in a message: every attachment (whatever type Discord claims: ingest
//! sniffs the bytes), image embeds, and bare links to images in the text.
//!
//! A link's embed, when Discord has made one, is fetched through Discord's media proxy (on
//! the allowed hosts) rather than from the linked server.
//!
//! A forwarded message carries what it forwards in `message_snapshots`: its photos are taken
//! like the message's own, and its text is the caption (the forwarder is the sender).

use serenity::all::{Attachment, Embed, Message};

/// One photo to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// What the sender would call it: the file name, or the link.
    pub label: String,
    pub url: String,
    /// The size Discord reports for an attachment, checked before downloading.
    pub size: Option<u64>,
}

/// The text a message's photos come with: its own, or what it forwards.
pub fn text(msg: &Message) -> &str {
    match msg.message_snapshots.first() {
        Some(forwarded) if msg.content.trim().is_empty() => &forwarded.content,
        _ => &msg.content,
    }
}

/// The photos in `msg` (and in what it forwards), in order: attachments, then embeds, then
/// links without an embed.
pub fn wanted(msg: &Message) -> Vec<Wanted> {
    let mut out = in_parts(&msg.content, &msg.attachments, &msg.embeds);
    for forwarded in &msg.message_snapshots {
        out.extend(in_parts(&forwarded.content, &forwarded.attachments, &forwarded.embeds));
    }
    out.dedup_by(|a, b| a.url == b.url);
    out
}

fn in_parts(content: &str, attachments: &[Attachment], embeds: &[Embed]) -> Vec<Wanted> {
    let mut out: Vec<Wanted> = attachments
        .iter()
        .map(|a| Wanted {
            label: a.filename.clone(),
            url: a.url.clone(),
            size: Some(a.size.into()),
        })
        .collect();
    let links = links(content);
    let mut embedded_links: Vec<String> = Vec::new();
    for embed in embeds {
        let image = embed.image.as_ref().map(|i| (i.proxy_url.clone(), i.url.clone()));
        // A link to an image gets an embed of kind "image" whose thumbnail is the image.
        let thumb = (embed.kind.as_deref() == Some("image"))
            .then(|| embed.thumbnail.as_ref().map(|t| (t.proxy_url.clone(), t.url.clone())))
            .flatten();
        if let Some((proxy, url)) = image.or(thumb) {
            if let Some(link) = &embed.url {
                embedded_links.push(link.clone());
            }
            let label = embed.url.clone().unwrap_or_else(|| url.clone());
            out.push(Wanted { label, url: proxy.unwrap_or(url), size: None });
        }
    }
    for link in links {
        if !embedded_links.contains(&link) {
            out.push(Wanted { label: link.clone(), url: link, size: None });
        }
    }
    out
}

/// Links to images in a message's text: `http(s)://…` ending in an image extension (before
/// any query), also written `<…>` (Discord's way to suppress the embed).
pub fn links(text: &str) -> Vec<String> {
    const EXTENSIONS: [&str; 8] =
        [".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"];
    text.split_whitespace()
        .map(|w| w.trim_start_matches('<').trim_end_matches('>'))
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .filter(|w| {
            let path = w.split(['?', '#']).next().unwrap_or(w).to_ascii_lowercase();
            EXTENSIONS.iter().any(|e| path.ends_with(e))
        })
        .map(str::to_owned)
        .collect()
}

/// The words of `text` that [`links`] found, as they were written (with `<>`), so that they
/// are left out of a caption.
pub fn link_words(text: &str) -> Vec<String> {
    let found = links(text);
    text.split_whitespace()
        .filter(|w| found.iter().any(|l| w.trim_start_matches('<').trim_end_matches('>') == l))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_image_links_only() {
        let text = "look https://cdn.discordapp.com/a/b/IMG_1.JPG?ex=1 and \
                    <https://example.com/c.png> but not https://example.com/page or x.jpg";
        assert_eq!(
            links(text),
            ["https://cdn.discordapp.com/a/b/IMG_1.JPG?ex=1", "https://example.com/c.png"]
        );
        assert_eq!(link_words(text)[1], "<https://example.com/c.png>");
    }
}
