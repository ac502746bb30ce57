//! Finding the photos in a message: every attachment (whatever type Discord claims: ingest
//! sniffs the bytes), image embeds, and bare links to images in the text.
//!
//! A link's embed, when Discord has made one, is fetched through Discord's media proxy (on
//! the allowed hosts) rather than from the linked server.
//!
//! A forwarded message carries what it forwards in `message_snapshots`: its photos are taken
//! like the message's own, and its text is the caption (the forwarder is the sender).
//!
//! Clips are taken like photos (ingest plays them), and so are GIFs from Discord's GIF picker,
//! which are not GIF files but `gifv` embeds whose `video` is an MP4 behind the media proxy.
//!
//! What is not for the screen is decided here, before anything is downloaded ([`Skipped`]):
//! voice messages and audio are left alone without a word, and spoilers are skipped when the
//! owner says so (the bot says so in a DM, and nothing in a server, where the message was
//! meant for people).

use serenity::all::{Attachment, Embed, Message, MessageFlags};

/// `[discord] spoilers`, as the bot applies it.
pub use crate::config::Spoilers;

/// An attachment that is not taken, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// A voice message or an audio file: never for the screen, never answered.
    Audio,
    /// A file marked as a spoiler (`SPOILER_` in its name), with `spoilers = "skip"`.
    Spoiler,
}

impl Skipped {
    /// What a sender is told in a DM; `None` when nothing is said.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Skipped::Audio => None,
            Skipped::Spoiler => Some(
                "Spoilers are not put on the frame: send the photo without marking it as a \
                 spoiler if it may be shown.",
            ),
        }
    }
}

/// What a message brings: the photos to fetch, and the attachments left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub wanted: Vec<Wanted>,
    pub skipped: Vec<Skipped>,
}

/// One photo to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// What the sender would call it: the file name, or the link.
    pub label: String,
    pub url: String,
    /// The size Discord reports for an attachment, checked before downloading.
    pub size: Option<u64>,
    /// Sent as a spoiler, and `spoilers = "blur"`: shown veiled.
    pub spoiler: bool,
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
    find(msg, Spoilers::Show).wanted
}

/// The photos in `msg` (and in what it forwards), and what was left out.
pub fn find(msg: &Message, spoilers: Spoilers) -> Found {
    let mut found = Found::default();
    if msg.flags.is_some_and(|f| f.contains(MessageFlags::IS_VOICE_MESSAGE)) {
        found.skipped.push(Skipped::Audio);
        return found;
    }
    let mut parts = vec![(msg.content.as_str(), &msg.attachments[..], &msg.embeds[..])];
    for forwarded in &msg.message_snapshots {
        parts.push((&forwarded.content, &forwarded.attachments, &forwarded.embeds));
    }
    for (content, attachments, embeds) in parts {
        let (taken, skipped) = in_parts(content, attachments, embeds, spoilers);
        found.wanted.extend(taken);
        found.skipped.extend(skipped);
    }
    found.wanted.dedup_by(|a, b| a.url == b.url);
    found
}

/// Whether `msg` should wait for Discord to add its links' embeds: it links to images on
/// hosts the frame may not fetch from (`allowed`), and has no embed yet.
pub fn awaits_embed(msg: &Message, allowed: impl Fn(&reqwest::Url) -> bool) -> bool {
    msg.embeds.is_empty()
        && (links(&msg.content)
            .iter()
            .any(|l| reqwest::Url::parse(l).map_or(true, |u| !allowed(&u)))
            || !gif_links(&msg.content).is_empty())
}

/// Links to pages of GIF sites (what Discord's GIF picker sends): only their embed, a `gifv`
/// whose video is on Discord's media proxy, can be shown.
fn gif_links(text: &str) -> Vec<&str> {
    const SITES: [&str; 3] =
        ["https://tenor.com/", "https://giphy.com/", "https://media.giphy.com/"];
    text.split_whitespace()
        .map(|w| w.trim_start_matches('<').trim_end_matches('>'))
        .filter(|w| SITES.iter().any(|site| w.starts_with(site)))
        .collect()
}

/// Whether an attachment is taken, by what Discord says of it: never downloaded otherwise.
/// A file with no type, or one that claims to be an image or anything else, is fetched and
/// sniffed (Discord's type is a guess from the name).
fn classify(a: &Attachment, spoilers: Spoilers) -> Result<(), Skipped> {
    let kind = a.content_type.as_deref().unwrap_or("").to_ascii_lowercase();
    if kind.starts_with("audio/") || a.duration_secs.is_some() {
        return Err(Skipped::Audio);
    }
    if spoilers == Spoilers::Skip && is_spoiler(a) {
        return Err(Skipped::Spoiler);
    }
    Ok(())
}

/// Discord marks a file as a spoiler by its name, in every client.
fn is_spoiler(a: &Attachment) -> bool {
    a.filename.starts_with("SPOILER_")
}

fn in_parts(
    content: &str,
    attachments: &[Attachment],
    embeds: &[Embed],
    spoilers: Spoilers,
) -> (Vec<Wanted>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let mut out: Vec<Wanted> = attachments
        .iter()
        .filter(|a| classify(a, spoilers).map_err(|why| skipped.push(why)).is_ok())
        .map(|a| Wanted {
            label: a.filename.clone(),
            url: a.url.clone(),
            size: Some(a.size.into()),
            spoiler: is_spoiler(a),
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
        // A GIF from the picker: the `video` is the animation (an MP4), the thumbnail a still.
        let gifv = (embed.kind.as_deref() == Some("gifv"))
            .then(|| embed.video.as_ref().map(|v| (v.proxy_url.clone(), v.url.clone())))
            .flatten();
        if let Some((proxy, url)) = gifv.or(image).or(thumb) {
            if let Some(link) = &embed.url {
                embedded_links.push(link.clone());
            }
            let label = embed.url.clone().unwrap_or_else(|| url.clone());
            out.push(Wanted { label, url: proxy.unwrap_or(url), size: None, spoiler: false });
        }
    }
    for link in links {
        if !embedded_links.contains(&link) {
            out.push(Wanted { label: link.clone(), url: link, size: None, spoiler: false });
        }
    }
    (out, skipped)
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

    fn attachment(filename: &str, content_type: &str) -> Attachment {
        serde_json::from_value(serde_json::json!({
            "id": "1", "filename": filename, "size": 10, "url": "https://cdn/x",
            "proxy_url": "https://cdn/x", "content_type": content_type,
        }))
        .unwrap()
    }

    #[test]
    fn what_is_not_a_photo_is_known_before_the_download() {
        let photo = attachment("IMG_1.JPG", "image/jpeg");
        assert_eq!(classify(&photo, Spoilers::Skip), Ok(()));
        // Discord guesses types from names: a photo named .bin is still fetched and sniffed.
        assert_eq!(
            classify(&attachment("photo.bin", "application/octet-stream"), Spoilers::Skip),
            Ok(())
        );
        // A clip is taken: the frame plays it.
        assert_eq!(classify(&attachment("a.mov", "video/quicktime"), Spoilers::Show), Ok(()));
        assert_eq!(
            classify(&attachment("a.m4a", "audio/mp4"), Spoilers::Show),
            Err(Skipped::Audio)
        );
        let spoiler = attachment("SPOILER_cake.jpg", "image/jpeg");
        assert_eq!(classify(&spoiler, Spoilers::Skip), Err(Skipped::Spoiler));
        assert_eq!(classify(&spoiler, Spoilers::Show), Ok(()));
        assert_eq!(classify(&spoiler, Spoilers::Blur), Ok(()));
        assert!(is_spoiler(&spoiler) && !is_spoiler(&photo));
        assert!(Skipped::Audio.note().is_none(), "voice messages are never answered");
    }

    /// A GIF from Discord's picker, as Discord sends it: a Tenor link, and a `gifv` embed whose
    /// `video` is an MP4 behind the media proxy.
    #[test]
    fn a_gif_from_the_picker_is_its_embeds_video() {
        let msg: Message = serde_json::from_value(serde_json::json!({
            "id": "3", "channel_id": "5", "type": 0, "content": "https://tenor.com/view/cat-dance-gif-123",
            "author": { "id": "7", "username": "anna", "discriminator": "0", "avatar": null },
            "timestamp": "2026-12-04T10:00:00.000000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [], "pinned": false,
            "embeds": [{
                "type": "gifv", "url": "https://tenor.com/view/cat-dance-gif-123",
                "provider": { "name": "Tenor", "url": "https://tenor.co" },
                "thumbnail": {
                    "url": "https://media.tenor.com/AAA/cat.png",
                    "proxy_url": "https://images-ext-1.discordapp.net/external/t/https/media.tenor.com/AAA/cat.png",
                    "width": 498, "height": 280
                },
                "video": {
                    "url": "https://media.tenor.com/AAA/cat.mp4",
                    "proxy_url": "https://images-ext-1.discordapp.net/external/v/https/media.tenor.com/AAA/cat.mp4",
                    "width": 498, "height": 280
                }
            }]
        }))
        .unwrap();
        let found = find(&msg, Spoilers::Show);
        assert_eq!(found.wanted.len(), 1, "{found:?}");
        assert!(found.wanted[0].url.ends_with("/https/media.tenor.com/AAA/cat.mp4"));
        assert!(found.wanted[0].url.starts_with("https://images-ext-1.discordapp.net/"));
        // Before Discord adds the embed, the bot waits for it.
        let mut bare = msg.clone();
        bare.embeds.clear();
        assert!(awaits_embed(&bare, |_| true));
        assert!(find(&bare, Spoilers::Show).wanted.is_empty());
    }

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
