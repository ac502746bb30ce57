//! The Discord bot end to end: the real binary, with the real serenity inside, against the
//! fake Discord of `tests/support/discord.rs` on loopback (REST, a `ws://` gateway, a CDN).

#![allow(clippy::unwrap_used)] // Test code: a failure is the test failing.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::discord::{user, FakeDiscord, BOT_ID, CHANNELS, DM_CHANNEL};
use support::frame::{error_of, Frame, FrameOptions};
use support::{fixture, wait_for};

const PHOTOS: u64 = CHANNELS[0].0;
const CHAT: u64 = CHANNELS[1].0;
const SECS: Duration = Duration::from_secs(1);

/// A headless frame connected to `fake`, with `extra` in its `[discord]` section.
fn frame(fake: &FakeDiscord, dir: &Path, extra: &str) -> Frame {
    let config = fake.config(extra);
    let frame = Frame::start(FrameOptions { config: &config, ..FrameOptions::headless(dir) });
    frame.wait_discord("connected", 20 * SECS);
    frame
}

fn library(frame: &Frame) -> Vec<Value> {
    let body: Value = frame.get("/api/photos").json().unwrap();
    body["photos"].as_array().unwrap().clone()
}

fn id_of(message: &Value) -> u64 {
    message["id"].as_str().unwrap().parse().unwrap()
}

/// Anna's message in `channel` saying `text`, with the ladybird JPEG attached as `name`.
fn ladybird_message(fake: &FakeDiscord, channel: u64, text: &str, name: &str) -> Value {
    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_file(name, jpeg.clone());
    fake.message(channel, &user(11, "anna"), text, &[(name, &url, jpeg.len())])
}

/// Waits until the bot has finished with a message: its last reaction is done or error.
fn wait_finished(frame: &Frame, fake: &FakeDiscord, message: u64) -> Vec<String> {
    // The frame logs this after its last reaction and its reply, if any: waiting for it
    // (not for a while) is what lets a test assert that no reply came.
    let done = format!("Discord: answered message {message}");
    wait_for(
        20 * SECS,
        || format!("message {message} not finished: {:?}", fake.reactions(message)),
        || frame.log().contains(&done).then_some(()),
    );
    fake.reactions(message)
}

#[test]
fn a_photo_posted_in_a_channel_goes_on_screen_with_the_reactions_in_order() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    assert_eq!(frame.status()["discord"], json!({ "state": "connected", "user": "FrameBot" }));
    // Without guild ids, /frame is registered globally.
    let reg = fake.wait_call(5 * SECS, "slash registration", |c| {
        c.method == "PUT" && c.path == "/api/v10/applications/901/commands"
    });
    assert_eq!(reg.body[0]["name"], "frame");
    let subs: Vec<&str> = reg.body[0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    let all =
        ["next", "prev", "pause", "resume", "status", "peek", "delete", "sleep", "wake", "help"];
    assert_eq!(subs, all);

    let welcome = frame.screenshot();
    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_file("ladybird.jpg", jpeg.clone());
    let anna = user(11, "anna");
    let msg = fake.message(
        PHOTOS,
        &anna,
        "At the lake --fit cover",
        &[("ladybird.jpg", &url, jpeg.len())],
    );
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    let reactions = wait_finished(&frame, &fake, id_of(&msg));
    assert_eq!(reactions, ["+👍", "+⏱️", "-⏱️", "+💯"]);

    let status = frame.status();
    let current = &status["current"];
    assert_eq!(current["source"], "discord");
    assert_eq!(current["sender"], "anna");
    assert_eq!(current["caption"], "At the lake");
    let photos = library(&frame);
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["message_id"].as_u64(), Some(id_of(&msg)));
    assert_eq!(photos[0]["channel_id"].as_u64(), Some(PHOTOS));
    let stored = frame.get(&format!("/api/photos/{}", photos[0]["id"])).bytes().unwrap();
    assert_eq!(stored.as_ref(), jpeg.as_slice(), "the original is stored byte for byte");
    // "done" means on screen: the screenshot is no longer the welcome slide.
    assert_ne!(frame.screenshot(), welcome);

    // The reply echoes the parameters.
    let replies = fake.replies_to(id_of(&msg));
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].body["content"], "`--fit cover --caption \"At the lake\"`");
    // A reply pings nobody, not even the sender it answers.
    let mentions = &replies[0].body["allowed_mentions"];
    assert_eq!(mentions["replied_user"], false, "{mentions}");
    assert_eq!(mentions["parse"], json!([]), "{mentions}");
}

#[test]
fn bad_photos_get_the_error_emoji_and_a_reply_that_says_why() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let anna = user(11, "anna");

    // A HEIC photo: claimed image/jpeg by the fake, sniffed as HEIC.
    let heic = fixture("ladybird.heic");
    let url = fake.serve_file("IMG_0001.jpg", heic.clone());
    let msg = fake.message(PHOTOS, &anna, "", &[("IMG_0001.jpg", &url, heic.len())]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)), ["+👍", "+⏱️", "-⏱️", "+❌"]);
    let reply = &fake.replies_to(id_of(&msg))[0].body["content"];
    assert!(reply.as_str().unwrap().starts_with("Not stored: "), "{reply}");
    assert!(reply.as_str().unwrap().contains("HEIC"), "{reply}");

    // A link to a host that is not allowed: refused without fetching.
    let msg = fake.message(PHOTOS, &anna, "https://example.com/cat.jpg", &[]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+❌");
    let reply = fake.replies_to(id_of(&msg))[0].body["content"].as_str().unwrap().to_owned();
    assert!(reply.contains("does not download from example.com"), "{reply}");

    // An attachment whose size Discord reports as over the limit: refused before downloading.
    let msg = fake.message(PHOTOS, &anna, "", &[("huge.jpg", &url, 60 * 1024 * 1024)]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+❌");
    let reply = fake.replies_to(id_of(&msg))[0].body["content"].as_str().unwrap().to_owned();
    assert_eq!(
        reply,
        "Not stored: the photo is over the frame's 50 MB download limit: send a smaller one"
    );

    // A bad option.
    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_file("ok.jpg", jpeg.clone());
    let msg = fake.message(PHOTOS, &anna, "--fit wide", &[("ok.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)), ["+👍", "+❌"]);
    let reply = fake.replies_to(id_of(&msg))[0].body["content"].as_str().unwrap().to_owned();
    assert!(reply.contains("`--fit wide`: the fit is `contain`"), "{reply}");
    assert!(library(&frame).is_empty(), "nothing was stored");

    // A CDN that fails twice with 503 is retried, and the photo lands.
    fake.fail_file("ok.jpg", 2);
    let msg = fake.message(PHOTOS, &anna, "", &[("ok.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+💯");
    assert_eq!(library(&frame).len(), 1);
}

#[test]
fn a_429_storm_loses_no_reaction_and_no_reply() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    // Every reaction and the reply are refused twice before they go through.
    fake.rate_limit(10);
    let msg = ladybird_message(&fake, PHOTOS, "--fit cover", "l.jpg");
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    let reactions = wait_finished(&frame, &fake, id_of(&msg));
    assert_eq!(reactions, ["+👍", "+⏱️", "-⏱️", "+💯"]);
    assert_eq!(fake.rate_limited(), 10);
    let replies = wait_for(
        10 * SECS,
        || "the reply".into(),
        || Some(fake.replies_to(id_of(&msg))).filter(|r| !r.is_empty()),
    );
    assert_eq!(replies.len(), 1);
    assert_eq!(library(&frame).len(), 1);
}

#[test]
fn an_expired_discord_link_is_renewed_and_a_deleted_one_explained() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_expired_file("old.jpg", jpeg.clone());
    let anna = user(11, "anna");
    let msg = fake.message(PHOTOS, &anna, "", &[("old.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+💯");
    let renewal =
        fake.wait_call(SECS, "refresh", |c| c.path.ends_with("/attachments/refresh-urls"));
    assert_eq!(renewal.body["attachment_urls"], json!([url]));
    assert_eq!(fake.cdn_hits(), ["old.jpg"], "the renewed link is downloaded, the expired one not");
    let stored = frame.get(&format!("/api/photos/{}", library(&frame)[0]["id"])).bytes().unwrap();
    assert_eq!(stored.as_ref(), jpeg.as_slice());

    // A link whose file is gone cannot be renewed: the sender is told in words.
    let gone = url.replace("/cdn/old.jpg", "/cdn/deleted.jpg");
    let msg = fake.message(PHOTOS, &anna, "", &[("deleted.jpg", &gone, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+❌");
    let reply = &fake.replies_to(id_of(&msg))[0].body["content"];
    let reply = reply.as_str().unwrap();
    assert!(reply.contains("the link had expired and Discord did not renew it"), "{reply}");
    assert_eq!(library(&frame).len(), 1);
}

#[test]
fn captions_and_senders_read_as_in_the_app_names_not_ids_and_no_markdown() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let text = "**At the lake** with <@12> <:party:123456> [album](https://example.com/a) 🎂";
    let mut msg = ladybird_message(&fake, PHOTOS, text, "l.jpg");
    msg["mentions"] = json!([{
        "id": "12", "username": "ben", "discriminator": "0", "global_name": "Ben",
        "avatar": null, "bot": false,
    }]);
    msg["member"]["nick"] = json!("Granny Anna");
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+💯");
    assert_eq!(frame.status()["current"]["sender"], "Granny Anna", "by her name in the server");
    let caption = &frame.status()["current"]["caption"];
    assert_eq!(caption, "At the lake with @Ben :party: album 🎂", "Ben's display name");
}

#[test]
fn several_photos_in_one_message_are_all_stored_and_the_last_shows() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let (a, b) = (fixture("ladybird.jpg"), fixture("ladybird.png"));
    let (ua, ub) = (fake.serve_file("a.jpg", a.clone()), fake.serve_file("b.png", b.clone()));
    let msg = fake.message(
        DM_CHANNEL,
        &user(11, "anna"),
        "",
        &[("a.jpg", &ua, a.len()), ("b.png", &ub, b.len())],
    );
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+💯");
    let photos = library(&frame);
    assert_eq!(photos.len(), 2, "a DM is read like a channel");
    assert_eq!(frame.status()["current"]["id"], photos[0]["id"]);
    assert_eq!(photos[0]["format"], "PNG", "the last attachment shows");

    // A bare link to an image on an allowed host, and an image embed (fetched through its
    // proxy_url, Discord's media proxy): both stored, the text around them is the caption.
    let (c, d) = (fixture("ladybird.webp"), fixture("ladybird-gray.jpg"));
    let link = fake.serve_file("c.webp", c);
    let proxied = fake.serve_file("d.jpg", d);
    let mut msg = fake.message(PHOTOS, &user(11, "anna"), &format!("Two more {link}"), &[]);
    msg["embeds"] = json!([{
        "type": "image", "url": "https://example.com/d.jpg",
        "thumbnail": { "url": "https://example.com/d.jpg", "proxy_url": proxied, "width": 10, "height": 10 },
    }]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+💯");
    let photos = library(&frame);
    assert_eq!(photos.len(), 4);
    assert_eq!(
        (photos[0]["format"].as_str(), photos[1]["format"].as_str()),
        (Some("WebP"), Some("JPEG"))
    );
    assert_eq!(photos[0]["caption"], "Two more");
}

#[test]
fn ignored_users_bots_and_channels_get_nothing_at_all() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(
        &fake,
        &dir.path().join("data"),
        "listen_channels = [\"Family:#photos\"]\nignore_users = [\"mallory\"]",
    );
    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_file("p.jpg", jpeg.clone());
    let att = [("p.jpg", url.as_str(), jpeg.len())];
    let mut bot = user(12, "otherbot");
    bot.bot = true;
    let mut me = user(BOT_ID, "FrameBot");
    me.bot = true;
    let ignored = [
        fake.message(PHOTOS, &user(13, "mallory"), "", &att),
        fake.message(PHOTOS, &bot, "", &att),
        fake.message(PHOTOS, &me, "", &att),
        fake.message(CHAT, &user(11, "anna"), "", &att),
        fake.message(DM_CHANNEL, &user(11, "anna"), "", &att),
        fake.message(CHAT, &user(11, "anna"), "!frame next", &[]),
    ];
    for m in &ignored {
        fake.dispatch("MESSAGE_CREATE", m.clone());
    }
    // The one listened to, sent last: once it is done, the others had their chance.
    let ok = fake.message(PHOTOS, &user(11, "anna"), "", &att);
    fake.dispatch("MESSAGE_CREATE", ok.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&ok)).last().unwrap(), "+💯");
    for m in &ignored {
        let id = id_of(m).to_string();
        let touched: Vec<_> = fake.calls().into_iter().filter(|c| c.path.contains(&id)).collect();
        assert!(touched.is_empty(), "message {id} was answered: {touched:?}");
        assert!(fake.replies_to(id_of(m)).is_empty());
    }
    assert_eq!(library(&frame).len(), 1);
    // A slash command from an ignored user is not answered either. (One in a channel the
    // frame does not read gets a private word: see the test after the next.)
    let ignored = fake.slash(PHOTOS, &user(13, "mallory"), "status", None);
    fake.dispatch("INTERACTION_CREATE", ignored.clone());
    // One sent after it where the frame listens: once that is answered, the first had its
    // chance.
    let heard = fake.slash(PHOTOS, &user(11, "anna"), "status", None);
    fake.dispatch("INTERACTION_CREATE", heard.clone());
    let answered = |i: &Value| {
        let id = i["id"].as_str().unwrap().to_owned();
        move |c: &support::discord::Call| c.path.contains(&format!("/interactions/{id}/"))
    };
    fake.wait_call(5 * SECS, "the answer in the listened channel", answered(&heard));
    assert!(!fake.calls().iter().any(answered(&ignored)), "answered an ignored user");
}

#[test]
fn commands_by_wake_word_and_as_slash_commands() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "guild_ids = [100]\nadmins = [\"zoe\"]");
    fake.wait_call(5 * SECS, "guild registration", |c| {
        c.method == "PUT" && c.path == "/api/v10/applications/901/guilds/100/commands"
    });
    let anna = user(11, "anna");
    let ben = user(12, "ben");
    // Two photos from anna.
    let mut ids = Vec::new();
    for name in ["ladybird.jpg", "ladybird.png"] {
        let bytes = fixture(name);
        let url = fake.serve_file(name, bytes.clone());
        let m = fake.message(PHOTOS, &anna, "", &[(name, &url, bytes.len())]);
        fake.dispatch("MESSAGE_CREATE", m.clone());
        wait_finished(&frame, &fake, id_of(&m));
        ids.push(frame.current_id().unwrap());
    }

    let say = |who: &support::discord::User, text: &str| -> String {
        let m = fake.message(PHOTOS, who, text, &[]);
        fake.dispatch("MESSAGE_CREATE", m.clone());
        let reply = fake.wait_call(10 * SECS, text, |c| {
            c.body["message_reference"]["message_id"].as_str() == Some(&id_of(&m).to_string())
        });
        reply.body["content"].as_str().unwrap_or("").to_owned()
    };
    let reply = say(&anna, "!frame status");
    assert!(reply.contains(&format!("Showing photo {} from anna", ids[1])), "{reply}");
    assert!(reply.contains("2 photos in the library"), "{reply}");
    assert!(say(&anna, "!FRAME pause").starts_with("Paused"));
    assert_eq!(frame.status()["paused"], true);
    assert!(say(&anna, "!frame resume").starts_with("Rotating"));
    assert_eq!(frame.status()["paused"], false);
    say(&anna, "!frame next");
    frame.wait_current(ids[0], 5 * SECS);
    say(&anna, "!frame prev");
    frame.wait_current(ids[1], 5 * SECS);
    assert!(say(&anna, "!frame dance").contains("I don't know `dance`"));
    assert!(say(&anna, "!frame help").contains("`!frame delete [id]`"));

    // peek: a JPEG of the screen, as /api/screenshot.png shows it.
    let m = fake.message(PHOTOS, &anna, "!frame peek", &[]);
    fake.dispatch("MESSAGE_CREATE", m.clone());
    let reply = fake.wait_call(10 * SECS, "peek reply", |c| {
        c.body["message_reference"]["message_id"].as_str() == Some(&id_of(&m).to_string())
    });
    assert_eq!(reply.files.len(), 1, "{reply:?}");
    assert_eq!(reply.files[0].0, "frame.jpg");
    let jpeg = image::load_from_memory_with_format(&reply.files[0].1, image::ImageFormat::Jpeg);
    let jpeg = jpeg.unwrap().to_rgba8();
    let screen = frame.screenshot();
    assert_eq!(jpeg.dimensions(), screen.dimensions());
    let diff: u64 =
        jpeg.pixels().zip(screen.pixels()).map(|(a, b)| u64::from(a[1].abs_diff(b[1]))).sum();
    let mean = diff as f64 / f64::from(screen.width() * screen.height());
    assert!(mean < 6.0, "the JPEG differs from the screen by {mean:.1} levels on average");

    // Slash commands: "thinking" at once (deferred, within Discord's 3 s), then the answer
    // edited in; what changes the screen is public, help/status/delete and mistakes private.
    let next = fake.slash(PHOTOS, &anna, "next", None);
    fake.dispatch("INTERACTION_CREATE", next.clone());
    frame.wait_current(ids[0], 5 * SECS);
    let deferred = fake.wait_call(5 * SECS, "deferred answer", |c| {
        c.path.starts_with(&format!("/api/v10/interactions/{}/", next["id"].as_str().unwrap()))
    });
    assert_eq!(deferred.body["type"], 5);
    assert_eq!(deferred.body["data"]["flags"].as_u64().unwrap_or(0) & 64, 0, "public");
    let token = next["token"].as_str().unwrap();
    let edited = fake.wait_call(5 * SECS, "the answer", |c| {
        c.method == "PATCH" && c.path == format!("/api/v10/webhooks/901/{token}/messages/@original")
    });
    assert_eq!(edited.body["content"], "Next photo.");
    assert!(edited.at.duration_since(deferred.at) < support::discord::INTERACTION_DEADLINE);
    let status = fake.slash(PHOTOS, &anna, "status", None);
    fake.dispatch("INTERACTION_CREATE", status.clone());
    let deferred = fake.wait_call(5 * SECS, "deferred status", |c| {
        c.path.starts_with(&format!("/api/v10/interactions/{}/", status["id"].as_str().unwrap()))
    });
    assert_eq!(deferred.body["data"]["flags"], 64, "status is only for who asked");
    fake.dispatch("INTERACTION_CREATE", fake.slash(DM_CHANNEL, &anna, "peek", None));
    let peek = fake.wait_call(10 * SECS, "slash peek", |c| {
        c.method == "PATCH" && c.path.starts_with("/api/v10/webhooks/") && !c.files.is_empty()
    });
    assert_eq!(peek.files[0].0, "frame.jpg");
    assert!(image::load_from_memory_with_format(&peek.files[0].1, image::ImageFormat::Jpeg).is_ok());

    // While a pairing code is on the screen, no picture of it goes to the channel.
    let ask = frame.http.post(format!("{}/api/pairing/code", frame.url)).send().unwrap();
    assert_eq!(ask.status(), 200);
    let m = fake.message(PHOTOS, &anna, "!frame peek", &[]);
    fake.dispatch("MESSAGE_CREATE", m.clone());
    let reply = fake.wait_call(10 * SECS, "peek reply while pairing", |c| {
        c.body["message_reference"]["message_id"].as_str() == Some(&id_of(&m).to_string())
    });
    assert!(reply.files.is_empty(), "{reply:?}");
    assert!(reply.body["content"].as_str().unwrap().contains("pairing code"), "{reply:?}");

    // delete: not somebody else's photo, unless an admin; by id, or your last one.
    let reply = say(&ben, &format!("!frame delete {}", ids[0]));
    assert!(reply.contains("only they or an admin"), "{reply}");
    fake.dispatch(
        "INTERACTION_CREATE",
        fake.slash(PHOTOS, &user(14, "zoe"), "delete", Some(ids[0])),
    );
    fake.wait_call(5 * SECS, "admin delete", |c| {
        c.body["content"].as_str() == Some(&format!("Deleted photo {}.", ids[0]))
    });
    // A photo belongs to its sender's id, not to a name: someone who takes the name "anna"
    // cannot delete hers, and anna, renamed, still can.
    let impostor = say(&user(99, "anna"), &format!("!frame delete {}", ids[1]));
    assert!(impostor.contains("only they or an admin"), "{impostor}");
    let renamed = user(11, "anna.renamed");
    assert!(say(&renamed, "!frame delete").starts_with(&format!("Deleted photo {}", ids[1])));
    assert!(library(&frame).is_empty());
    assert_eq!(frame.status()["current"], Value::Null, "back to the welcome slide");
}

#[test]
fn deleting_the_message_deletes_its_photos() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let mut messages = Vec::new();
    for name in ["ladybird.jpg", "ladybird.png", "ladybird.webp"] {
        let bytes = fixture(name);
        let url = fake.serve_file(name, bytes.clone());
        let m = fake.message(PHOTOS, &user(11, "anna"), "", &[(name, &url, bytes.len())]);
        fake.dispatch("MESSAGE_CREATE", m.clone());
        wait_finished(&frame, &fake, id_of(&m));
        messages.push(id_of(&m));
    }
    assert_eq!(library(&frame).len(), 3);
    let on_screen = frame.current_id();
    fake.dispatch(
        "MESSAGE_DELETE",
        json!({ "id": messages[2].to_string(), "channel_id": PHOTOS.to_string(), "guild_id": "100" }),
    );
    let deleted = || "MESSAGE_DELETE did not delete the photo".to_owned();
    wait_for(5 * SECS, deleted, || (library(&frame).len() == 2).then_some(()));
    // The deleted photo leaves the screen.
    frame.wait_not_current(on_screen, 5 * SECS);
    let ids: Vec<String> = messages[..2].iter().map(u64::to_string).collect();
    fake.dispatch(
        "MESSAGE_DELETE_BULK",
        json!({ "ids": ids, "channel_id": PHOTOS.to_string(), "guild_id": "100" }),
    );
    let deleted = || "MESSAGE_DELETE_BULK did not delete the photos".to_owned();
    wait_for(5 * SECS, deleted, || library(&frame).is_empty().then_some(()));
}

#[test]
fn the_relay_sends_through_the_bot_and_maps_discords_errors() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let post = |body: Value| {
        frame.http.post(format!("{}/api/discord/messages", frame.url)).json(&body).send().unwrap()
    };
    let resp = post(json!({ "channel_id": PHOTOS.to_string(), "content": "Hello from the Pi" }));
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["channel_id"], PHOTOS.to_string());
    let sent = fake.wait_call(SECS, "relayed message", |c| {
        c.path == format!("/api/v10/channels/{PHOTOS}/messages")
            && c.body["content"] == "Hello from the Pi"
    });
    assert!(sent.files.is_empty());
    // Nobody is pinged unless the program asks.
    assert_eq!(sent.body["allowed_mentions"]["parse"], json!([]), "{}", sent.body);
    let resp =
        post(json!({ "channel_id": PHOTOS.to_string(), "content": "<@11> look", "ping": true }));
    assert_eq!(resp.status(), 201);
    let sent = fake.wait_call(SECS, "relayed ping", |c| c.body["content"] == "<@11> look");
    assert_eq!(sent.body["allowed_mentions"]["parse"], json!(["users"]), "{}", sent.body);
    // A DM by user id: the DM channel is opened first.
    assert_eq!(post(json!({ "user_id": 11, "content": "psst" })).status(), 201);
    fake.wait_call(SECS, "DM", |c| c.path == "/api/v10/users/@me/channels");
    fake.wait_call(SECS, "DM message", |c| {
        c.path == format!("/api/v10/channels/{DM_CHANNEL}/messages") && c.body["content"] == "psst"
    });
    // Discord's errors: 403/404/429 as they are, 5xx as 502, with Discord's code and text.
    for (channel, status, code, text, expect) in [
        (201, 403, 50013, "Missing Permissions", 403),
        (202, 404, 10003, "Unknown Channel", 404),
        (203, 429, 0, "You are being rate limited.", 429),
        (204, 400, 50006, "Cannot send an empty message", 400),
        (205, 401, 0, "401: Unauthorized", 401),
        (206, 500, 0, "Internal Server Error", 502),
    ] {
        fake.fail_channel(channel, status, code, text);
        let resp = post(json!({ "channel_id": channel.to_string(), "content": "x" }));
        assert_eq!(resp.status().as_u16(), expect, "Discord {status}");
        let body: Value = resp.json().unwrap();
        assert_eq!(body["error"]["code"], "discord_error");
        assert_eq!(
            body["error"]["discord"],
            json!({ "status": status, "code": code, "text": text })
        );
    }
    // Our own checks, before Discord.
    let (status, code, message) = error_of(post(json!({ "content": "no target" })));
    assert_eq!((status, code.as_str()), (400, "bad_request"));
    assert!(message.contains("exactly one of `channel_id`"), "{message}");
    let (status, _, message) = error_of(post(json!({ "channel_id": "abc", "content": "x" })));
    assert_eq!(status, 400);
    assert!(message.contains("`abc` is not a Discord id"), "{message}");
}

#[test]
fn the_relay_without_a_token_says_discord_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let frame = Frame::headless(&dir.path().join("data"));
    let resp = frame
        .http
        .post(format!("{}/api/discord/messages", frame.url))
        .json(&json!({ "channel_id": "1", "content": "x" }))
        .send()
        .unwrap();
    let (status, code, _) = error_of(resp);
    assert_eq!((status, code.as_str()), (503, "discord_disabled"));
}

#[test]
fn a_gateway_drop_resumes_the_session_and_photos_keep_coming() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    fake.wait_ready(1, 10 * SECS);
    fake.drop_connections();
    wait_for(
        30 * SECS,
        || format!("no RESUME after a drop:\n{}", frame.log()),
        || (!fake.gateway().resumes.is_empty() && fake.sessions() > 0).then_some(()),
    );
    let resume = &fake.gateway().resumes[0];
    assert_eq!(resume["session_id"], "session-1");
    assert!(resume["seq"].as_u64().unwrap() >= 2, "{resume}");
    assert_eq!(fake.gateway().identifies.len(), 1, "resumed, not identified again");
    frame.wait_discord("connected", 10 * SECS);
    let m = ladybird_message(&fake, PHOTOS, "", "after.jpg");
    fake.dispatch("MESSAGE_CREATE", m.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&m)).last().unwrap(), "+💯");
    // The fake's heartbeat interval is 1 s: the bot keeps the connection alive.
    let beat = || "no heartbeat".to_owned();
    wait_for(10 * SECS, beat, || (fake.gateway().heartbeats > 0).then_some(()));
}

#[test]
fn op_7_reconnect_resumes_and_op_9_invalid_session_identifies_again() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    fake.wait_ready(1, 10 * SECS);
    fake.gateway_op(7, Value::Null);
    wait_for(
        30 * SECS,
        || format!("no RESUME after op 7:\n{}", frame.log()),
        || (!fake.gateway().resumes.is_empty() && fake.sessions() > 0).then_some(()),
    );
    assert_eq!(fake.gateway().identifies.len(), 1, "op 7 is resumed, not identified again");
    fake.gateway_op(9, json!(false));
    wait_for(
        30 * SECS,
        || format!("no new IDENTIFY after op 9:\n{}", frame.log()),
        || (fake.gateway().identifies.len() == 2 && fake.sessions() > 0).then_some(()),
    );
    frame.wait_discord("connected", 10 * SECS);
    let m = ladybird_message(&fake, PHOTOS, "", "after.jpg");
    fake.dispatch("MESSAGE_CREATE", m.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&m)).last().unwrap(), "+💯");
}

/// Discord's refusals never stop the pictures: the frame keeps serving, takes photos over
/// HTTP and shows them, while `/api/status` says what is wrong with Discord and how to fix it.
fn assert_still_a_frame(frame: &Frame) {
    assert_eq!(frame.get("/healthz").status(), 200);
    let resp = frame.upload(fixture("ladybird.jpg"));
    assert_eq!(resp.status(), 201, "{}", frame.log());
    let id = resp.json::<Value>().unwrap()["photos"][0]["id"].as_i64().unwrap();
    frame.wait_current(id, 10 * SECS);
}

/// The Message Content intent switched off in the Developer Portal (close 4014): the frame
/// connects without it at once and says what is missing; photos sent directly or with an
/// @mention still arrive, the others reach the bot blank and are left alone.
#[test]
fn without_the_message_content_intent_dms_and_mentions_still_work() {
    let fake = FakeDiscord::start();
    fake.refuse_message_content();
    let dir = tempfile::tempdir().unwrap();
    let config = fake.config("");
    let frame = Frame::start(FrameOptions {
        config: &config,
        ..FrameOptions::headless(&dir.path().join("d"))
    });
    let discord = frame.wait_discord("limited", 20 * SECS);
    assert_eq!(discord["user"], "FrameBot");
    let message = discord["message"].as_str().unwrap();
    assert!(message.contains("Message Content Intent"), "{message}");
    assert!(message.contains("Privileged Gateway Intents"), "{message}");
    let identifies = fake.gateway().identifies;
    assert_eq!(identifies.len(), 2, "asked once with the intent, then without");
    assert_eq!(identifies[1]["intents"].as_u64().unwrap() & (1 << 15), 0);
    assert_still_a_frame(&frame);

    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_file("lake.jpg", jpeg.clone());
    let anna = user(11, "anna");
    let blank = fake.message(PHOTOS, &anna, "", &[("lake.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", blank.clone());
    let dm = fake.message(DM_CHANNEL, &anna, "direct", &[("lake.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", dm.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&dm)).last().unwrap(), "+💯");
    let png = fixture("ladybird.png");
    let url = fake.serve_file("lake.png", png.clone());
    let mention = fake.message(PHOTOS, &anna, "mentioned", &[("lake.png", &url, png.len())]);
    let mention = fake.mentioning_bot(mention);
    fake.dispatch("MESSAGE_CREATE", mention.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&mention)).last().unwrap(), "+💯");
    assert!(fake.reactions(id_of(&blank)).is_empty());
    assert_eq!(library(&frame).len(), 2);
}

#[test]
fn a_bad_token_4004_leaves_the_frame_running_and_says_how_to_get_a_new_one() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let config = fake.config("").replace("fake-bot-token", "wrong-token");
    let frame = Frame::start(FrameOptions {
        config: &config,
        ..FrameOptions::headless(&dir.path().join("d"))
    });
    let discord = frame.wait_discord("error", 20 * SECS);
    let message = discord["message"].as_str().unwrap();
    assert!(message.contains("Discord rejected the bot token (gateway close 4004)"), "{message}");
    assert!(message.contains("Reset Token"), "{message}");
    assert_still_a_frame(&frame);
}

#[test]
fn a_new_token_in_the_config_file_is_taken_on_sighup_without_a_restart() {
    use nix::sys::signal::Signal;
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let good = fake.config("");
    let revoked = good.replace("fake-bot-token", "revoked-token");
    let frame = Frame::start(FrameOptions { config: &revoked, ..FrameOptions::headless(&data) });
    let discord = frame.wait_discord("error", 20 * SECS);
    let message = discord["message"].as_str().unwrap();
    let config_path = data.with_extension("toml");
    let fix = format!("paste it as [discord] token in {}", config_path.display());
    assert!(message.contains(&fix), "{message}");
    // The relay is refused with the revoked token, as by Discord.
    let relay = json!({ "channel_id": CHAT.to_string(), "content": "hello" });
    let relay = || {
        let url = format!("{}/api/discord/messages", frame.url);
        frame.http.post(url).json(&relay).send().unwrap()
    };
    assert_ne!(relay().status(), 201);

    std::fs::write(&config_path, &good).unwrap();
    frame.signal(Signal::SIGHUP);
    frame.wait_discord("connected", 10 * SECS);
    assert!(frame.log().contains("the token changed; connecting with the new one"));
    let resp = relay();
    assert_eq!(resp.status(), 201, "{}", resp.text().unwrap());
    assert_still_a_frame(&frame);
}

#[test]
fn with_api_url_set_and_no_gateway_there_the_frame_never_calls_discord() {
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let dir = tempfile::tempdir().unwrap();
    let config = format!("[discord]\ntoken = \"t\"\napi_url = \"http://127.0.0.1:{port}\"\n");
    let frame = Frame::start(FrameOptions {
        config: &config,
        ..FrameOptions::headless(&dir.path().join("d"))
    });
    let discord = frame.wait_discord("error", 20 * SECS);
    let message = discord["message"].as_str().unwrap();
    assert!(message.contains("[discord] api_url: cannot get the gateway address"), "{message}");
    assert_still_a_frame(&frame);
    assert!(!frame.log().contains("gateway.discord.gg"), "{}", frame.log());
}

#[test]
fn two_frames_on_one_bot_each_show_only_their_own_channel() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let kitchen = frame(
        &fake,
        &dir.path().join("kitchen"),
        &format!("listen_channels = [\"{PHOTOS}\"]\nquiet_elsewhere = true"),
    );
    let hall = frame(
        &fake,
        &dir.path().join("hall"),
        "listen_channels = [\"Family:chat\"]\nquiet_elsewhere = true",
    );
    fake.wait_ready(2, 10 * SECS);
    let (a, b) = (fixture("ladybird.jpg"), fixture("ladybird.png"));
    let (ua, ub) = (fake.serve_file("k.jpg", a.clone()), fake.serve_file("h.png", b.clone()));
    let to_kitchen = fake.message(PHOTOS, &user(11, "anna"), "", &[("k.jpg", &ua, a.len())]);
    let to_hall = fake.message(CHAT, &user(11, "anna"), "", &[("h.png", &ub, b.len())]);
    fake.dispatch("MESSAGE_CREATE", to_kitchen.clone());
    fake.dispatch("MESSAGE_CREATE", to_hall.clone());
    // Each message is handled once: one set of reactions, not two.
    assert_eq!(wait_finished(&kitchen, &fake, id_of(&to_kitchen)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    assert_eq!(wait_finished(&hall, &fake, id_of(&to_hall)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    let k = library(&kitchen);
    let h = library(&hall);
    assert_eq!((k.len(), h.len()), (1, 1));
    assert_eq!(k[0]["channel_id"].as_u64(), Some(PHOTOS));
    assert_eq!(h[0]["channel_id"].as_u64(), Some(CHAT));
    // /frame is answered by the frame that listens there, and only by it.
    let slash = fake.slash(CHAT, &user(11, "anna"), "status", None);
    let callback = format!("/api/v10/interactions/{}/", slash["id"].as_str().unwrap());
    fake.dispatch("INTERACTION_CREATE", slash);
    fake.wait_call(5 * SECS, "the hall's answer", |c| c.path.starts_with(&callback));
    // The kitchen has had the same interaction, and says why it stays quiet.
    wait_for(
        5 * SECS,
        || kitchen.log(),
        || kitchen.log().contains("left to the frame that does").then_some(()),
    );
    let answers = fake.calls().into_iter().filter(|c| c.path.starts_with(&callback)).count();
    assert_eq!(answers, 1);
}

#[test]
fn a_command_where_the_frame_does_not_listen_gets_a_private_answer_saying_so() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("d"), &format!("listen_channels = [\"{PHOTOS}\"]"));
    let slash = fake.slash(CHAT, &user(11, "anna"), "next", None);
    let callback = format!("/api/v10/interactions/{}/", slash["id"].as_str().unwrap());
    fake.dispatch("INTERACTION_CREATE", slash);
    let answer = fake.wait_call(5 * SECS, "the answer", |c| c.path.starts_with(&callback));
    assert_eq!(answer.body["type"], 4, "answered at once: {}", answer.body);
    assert_eq!(answer.body["data"]["flags"], 64, "only to who asked: {}", answer.body);
    let text = answer.body["data"]["content"].as_str().unwrap();
    assert!(text.starts_with("This frame does not listen in this channel"), "{text}");
    assert_still_a_frame(&frame);
}

/// Photos sent while the frame was off are taken when it starts again: oldest first, each
/// with the reactions a live one gets; what it had answered before (its 💯 or ❌ is on the
/// message), commands from then, and ignored channels are left alone.
#[test]
fn photos_sent_while_the_frame_was_off_are_caught_up_oldest_first() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let extra = "ignore_channels = [\"chat\"]";
    let anna = user(11, "anna");
    let ben = user(12, "ben");
    let photo = |name: &str, bytes: Vec<u8>| {
        let len = bytes.len();
        (fake.serve_file(name, bytes), len)
    };
    // One photo while the frame is on: taken live, answered with 💯.
    let first = frame(&fake, &data, extra);
    let (url, len) = photo("before.jpg", fixture("ladybird.jpg"));
    let before = fake.message(PHOTOS, &anna, "before", &[("before.jpg", &url, len)]);
    fake.dispatch("MESSAGE_CREATE", before.clone());
    assert_eq!(wait_finished(&first, &fake, id_of(&before)).last().unwrap(), "+💯");
    assert!(first.terminate().success());

    // While it is off: three photos, a command, a photo in an ignored channel.
    let mut missed = Vec::new();
    for (i, (name, fixture_name)) in
        [("a.png", "ladybird.png"), ("b.webp", "ladybird.webp"), ("c.jpg", "orient-3.jpg")]
            .into_iter()
            .enumerate()
    {
        let (url, len) = photo(name, fixture(fixture_name));
        let who = if i == 1 { &ben } else { &anna };
        let m = fake.message(PHOTOS, who, &format!("missed {i}"), &[(name, &url, len)]);
        fake.post_unheard(&m);
        missed.push(m);
    }
    let command = fake.message(PHOTOS, &anna, "!frame pause", &[]);
    fake.post_unheard(&command);
    let (url, len) = photo("chat.jpg", fixture("orient-6.jpg"));
    let elsewhere = fake.message(CHAT, &anna, "", &[("chat.jpg", &url, len)]);
    fake.post_unheard(&elsewhere);

    let frame = frame(&fake, &data, extra);
    for m in &missed {
        assert_eq!(wait_finished(&frame, &fake, id_of(m)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    }
    let photos = library(&frame);
    assert_eq!(photos.len(), 4);
    // Newest first in the library: the missed ones in the order they were sent, after the
    // one from before; the last one sent is on screen.
    let captions: Vec<&str> = photos.iter().map(|p| p["caption"].as_str().unwrap()).collect();
    assert_eq!(captions, ["missed 2", "missed 1", "missed 0", "before"]);
    assert_eq!(photos[1]["sender"], "ben");
    frame.wait_current(photos[0]["id"].as_i64().unwrap(), 5 * SECS);
    // The one answered before is not taken again; the command and the ignored channel are
    // not answered at all.
    assert_eq!(fake.reactions(id_of(&before)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    assert!(fake.reactions(id_of(&command)).is_empty());
    assert!(fake.reactions(id_of(&elsewhere)).is_empty());
    assert_eq!(frame.status()["paused"], false);
    // The ignored channel's history was not even read.
    let read: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/messages"))
        .map(|c| c.path)
        .collect();
    assert!(read.iter().all(|p| p == &format!("/api/v10/channels/{PHOTOS}/messages")), "{read:?}");
    assert!(!read.is_empty());
}

/// A forward carries the photo in `message_snapshots`: it is taken like an attachment, with
/// the forwarded text as its caption and the forwarder as its sender.
#[test]
fn a_forwarded_photo_shows_with_its_text_from_the_forwarder() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_file("birthday.jpg", jpeg.clone());
    // The original was posted where the frame does not listen (another server, say).
    let original = fake.message(
        CHAT,
        &user(11, "anna"),
        "Grandpa's birthday",
        &[("birthday.jpg", &url, jpeg.len())],
    );
    let forward = fake.forward(PHOTOS, &user(12, "ben"), &original);
    fake.dispatch("MESSAGE_CREATE", forward.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&forward)).last().unwrap(), "+💯");
    let photos = library(&frame);
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["sender"], "ben");
    assert_eq!(photos[0]["caption"], "Grandpa's birthday");
    assert_eq!(photos[0]["message_id"].as_u64(), Some(id_of(&forward)));
    let stored = frame.get(&format!("/api/photos/{}", photos[0]["id"])).bytes().unwrap();
    assert_eq!(stored.as_ref(), jpeg.as_slice());
}

/// Voice messages and spoilers are decided on by what Discord says of them, before any
/// download: nothing at all in a server.
#[test]
fn voice_messages_and_spoilers_stay_off_the_frame_without_a_download() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let anna = user(11, "anna");
    let jpeg = fixture("ladybird.jpg");
    let url = |name: &str| fake.serve_file(name, jpeg.clone());
    let voice = fake.voice_message(PHOTOS, &anna, &url("voice-message.ogg"));
    let spoiler = fake.attachment("SPOILER_cake.jpg", &url("SPOILER_cake.jpg"), 1, "image/jpeg");
    let spoiler = fake.message_with(PHOTOS, &anna, "", vec![spoiler]);
    for m in [&voice, &spoiler] {
        fake.dispatch("MESSAGE_CREATE", m.clone());
    }
    // A photo after them: once it is done, the others had their turn.
    let ok = fake.message(PHOTOS, &anna, "", &[("ok.jpg", &url("ok.jpg"), jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", ok.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&ok)).last().unwrap(), "+💯");
    for m in [&voice, &spoiler] {
        assert!(fake.reactions(id_of(m)).is_empty(), "{m}");
        assert!(fake.replies_to(id_of(m)).is_empty(), "{m}");
    }
    assert_eq!(fake.cdn_hits(), ["ok.jpg"], "only the photo was downloaded");
    assert_eq!(library(&frame).len(), 1);
}

/// The start of an MP4 (a phone's clip): enough for the frame to know it is a video.
fn mp4_head() -> Vec<u8> {
    let mut bytes = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    bytes.extend(b"\0\0\0\x08free");
    bytes.resize(4096, 0);
    bytes
}

/// A frame on a system without GStreamer takes a clip in, and answers with what its owner
/// must install: in words, with ❌, and nothing stored.
#[test]
fn a_clip_sent_to_a_frame_without_gstreamer_says_what_to_install() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let config = fake.config("");
    let data = dir.path().join("d");
    let mut opts = FrameOptions { config: &config, ..FrameOptions::headless(&data) };
    // No GStreamer tools on the frame's PATH, on any machine.
    opts.env.push(("PATH".into(), dir.path().display().to_string()));
    let frame = Frame::start(opts);
    frame.wait_discord("connected", 20 * SECS);
    let clip = mp4_head();
    let url = fake.serve_file("IMG_0042.MOV", clip.clone());
    let video = fake.attachment("IMG_0042.MOV", &url, clip.len(), "video/quicktime");
    let msg = fake.message_with(DM_CHANNEL, &user(11, "anna"), "", vec![video]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)), ["+👍", "+⏱️", "-⏱️", "+❌"]);
    let reply = fake.replies_to(id_of(&msg))[0].body["content"].as_str().unwrap().to_owned();
    assert!(
        reply.contains("cannot play videos") && reply.contains("gstreamer1.0-libav"),
        "{reply}"
    );
    assert!(library(&frame).is_empty());
    // Over HTTP, the same words and a code a program can act on.
    let answer = frame.upload(clip);
    assert_eq!(answer.status(), 415);
    let body: Value = answer.json().unwrap();
    assert_eq!(body["error"]["code"], "cannot_play_videos", "{body}");
    // And the status says so, for the owner.
    let videos = &frame.status()["videos"];
    assert_eq!(videos["playable"], false, "{videos}");
    assert!(videos["message"].as_str().unwrap().contains("install GStreamer"), "{videos}");
}

/// A clip from a phone and a GIF from Discord's picker (a `gifv` embed whose video is an MP4
/// on the media proxy) are stored as videos and play: the screen changes while they do.
#[test]
#[ignore = "needs GStreamer and ffmpeg: run by .ci/run"]
fn a_phone_clip_and_a_picker_gif_are_stored_and_play() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let anna = user(11, "anna");
    let clip = support::ffmpeg_clip(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        "mp4",
    );
    let url = fake.serve_file("IMG_0042.MOV", clip.clone());
    let video = fake.attachment("IMG_0042.MOV", &url, clip.len(), "video/quicktime");
    let msg = fake.message_with(PHOTOS, &anna, "Ben's first steps", vec![video]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    let stored = library(&frame);
    assert_eq!((&stored[0]["kind"], &stored[0]["duration_ms"]), (&json!("video"), &json!(3000)));
    assert_eq!(stored[0]["caption"], "Ben's first steps");
    // The screen changes within a few frames' time once the crossfade onto the still is over.
    let playing = |frame: &Frame| {
        let first = frame.screenshot();
        let start = std::time::Instant::now();
        while start.elapsed() < 5 * SECS {
            std::thread::sleep(Duration::from_millis(100));
            if frame.screenshot() != first {
                return true;
            }
        }
        false
    };
    assert!(playing(&frame), "the clip does not play");

    // The GIF picker: a Tenor link, and the embed Discord adds a moment later.
    let gif = support::ffmpeg_clip(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=15",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
        "mp4",
    );
    let proxy = fake.serve_file("tenor-cat.mp4", gif.clone());
    let link = "https://tenor.com/view/cat-dance-gif-123";
    let msg = fake.message(PHOTOS, &anna, link, &[]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    let embed = json!({
        "id": msg["id"], "channel_id": msg["channel_id"], "guild_id": msg["guild_id"],
        "embeds": [{
            "type": "gifv", "url": link,
            "provider": { "name": "Tenor", "url": "https://tenor.co" },
            "thumbnail": { "url": "https://media.tenor.com/AAA/cat.png", "proxy_url": proxy, "width": 320, "height": 240 },
            "video": { "url": "https://media.tenor.com/AAA/cat.mp4", "proxy_url": proxy, "width": 320, "height": 240 },
            "content_scan_version": 0,
        }],
    });
    fake.dispatch("MESSAGE_UPDATE", embed);
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    let stored = library(&frame);
    assert_eq!(stored.len(), 2);
    assert_eq!((&stored[0]["kind"], &stored[0]["format"]), (&json!("video"), &json!("MP4")));
    assert!(playing(&frame), "the GIF does not play");
    assert!(!frame.log().contains("ERROR"), "{}", frame.log());
}

/// How much a picture's neighbouring pixels differ, on average, over its upper two thirds
/// (above any caption): a sharp photo has detail, a veiled one almost none.
fn detail(shot: &image::RgbaImage) -> f64 {
    let (w, h) = shot.dimensions();
    let mut sum = 0u64;
    for y in 0..h * 2 / 3 {
        for x in 1..w {
            let (a, b) = (shot.get_pixel(x - 1, y), shot.get_pixel(x, y));
            sum += (0..3).map(|c| u64::from(a[c].abs_diff(b[c]))).sum::<u64>();
        }
    }
    sum as f64 / f64::from((w - 1) * (h * 2 / 3))
}

/// With `spoilers = "blur"` a spoiler is stored and shown veiled, captioned "Spoiler"; the
/// same photo not marked as one shows sharp.
#[test]
fn a_spoiler_shows_veiled_with_spoilers_blur() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "spoilers = \"blur\"");
    let msg = ladybird_message(&fake, PHOTOS, "guess who", "SPOILER_ladybird.jpg");
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+💯");
    let photo = library(&frame)[0].clone();
    assert_eq!(photo["spoiler"], true, "{photo}");
    frame.wait_current(photo["id"].as_i64().unwrap(), 5 * SECS);
    let veiled = frame.screenshot();

    let sharp = frame.upload(fixture("ladybird-progressive.jpg"));
    assert_eq!(sharp.status(), 201);
    let sharp: Value = sharp.json().unwrap();
    frame.wait_current(sharp["photos"][0]["id"].as_i64().unwrap(), 5 * SECS);
    let (veiled, sharp) = (detail(&veiled), detail(&frame.screenshot()));
    assert!(veiled * 4.0 < sharp, "veiled {veiled:.2}, sharp {sharp:.2}");
}

/// A pasted link to an image host the frame does not fetch from: the message waits for the
/// embed Discord adds with a MESSAGE_UPDATE, and the photo comes through the media proxy.
#[test]
fn a_pasted_link_shows_once_discord_adds_its_embed() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let jpeg = fixture("ladybird.jpg");
    let proxy = fake.serve_file("external-lake.jpg", jpeg.clone());
    let link = "https://i.imgur.com/lake.jpg";
    let msg = fake.message(PHOTOS, &user(11, "anna"), &format!("The lake {link}"), &[]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    std::thread::sleep(Duration::from_millis(300)); // Discord takes a moment to embed.
    fake.dispatch("MESSAGE_UPDATE", fake.embed_update(&msg, link, &proxy));
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    let photos = library(&frame);
    assert_eq!(photos[0]["caption"], "The lake");
    let stored = frame.get(&format!("/api/photos/{}", photos[0]["id"])).bytes().unwrap();
    assert_eq!(stored.as_ref(), jpeg.as_slice());
    // The embed-only update was not taken for an edit: the caption stays.
    assert_eq!(frame.status()["current"]["caption"], "The lake");
}

/// Editing the message's text changes the caption, on screen too.
#[test]
fn an_edit_changes_the_caption_on_screen() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut opts_config = fake.config("");
    opts_config.push_str("\n[display]\ncaptions = true\ntransition = \"0s\"\n");
    let frame =
        Frame::start(FrameOptions { config: &opts_config, ..FrameOptions::headless(&data) });
    frame.wait_discord("connected", 20 * SECS);
    let msg = ladybird_message(&fake, PHOTOS, "At the lak", "lake.jpg");
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&msg)).last().unwrap(), "+💯");
    let id = library(&frame)[0]["id"].as_i64().unwrap();
    frame.wait_current(id, 5 * SECS);
    let before = frame.screenshot();
    fake.dispatch("MESSAGE_UPDATE", fake.edit(&msg, "At the lake, 1998"));
    wait_for(
        5 * SECS,
        || format!("caption not changed: {}", frame.status()["current"]),
        || (frame.status()["current"]["caption"] == "At the lake, 1998").then_some(()),
    );
    assert_eq!(library(&frame)[0]["caption"], "At the lake, 1998");
    wait_for(
        5 * SECS,
        || "the screen still shows the old caption".into(),
        || (frame.screenshot() != before).then_some(()),
    );
    assert_eq!(frame.current_id(), Some(id));
}

/// A thread follows its parent channel's rule: the bot joins a new thread of a listened
/// channel and takes its photos; a thread of another channel is left alone.
#[test]
fn a_thread_photo_follows_its_parent_channels_rule() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "listen_channels = [\"photos\"]");
    let holiday = fake.thread(PHOTOS, "Holiday");
    let off_topic = fake.thread(CHAT, "Off topic");
    fake.dispatch("THREAD_CREATE", holiday.clone());
    fake.dispatch("THREAD_CREATE", off_topic.clone());
    let thread_id = |t: &Value| t["id"].as_str().unwrap().parse::<u64>().unwrap();
    fake.wait_call(5 * SECS, "joining the Holiday thread", |c| {
        c.method == "PUT"
            && c.path == format!("/api/v10/channels/{}/thread-members/@me", thread_id(&holiday))
    });
    let jpeg = fixture("ladybird.jpg");
    let url = fake.serve_file("beach.jpg", jpeg.clone());
    let anna = user(11, "anna");
    let ignored =
        fake.message(thread_id(&off_topic), &anna, "", &[("beach.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", ignored.clone());
    let taken =
        fake.message(thread_id(&holiday), &anna, "Beach", &[("beach.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", taken.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&taken)).last().unwrap(), "+💯");
    assert!(fake.reactions(id_of(&ignored)).is_empty());
    let joined_off_topic = format!("/channels/{}/thread-members", thread_id(&off_topic));
    assert!(!fake.calls().iter().any(|c| c.path.contains(&joined_off_topic)));
    let photos = library(&frame);
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0]["channel_id"].as_u64(), Some(thread_id(&holiday)));

    // A thread the bot was never told of (archived before it started, say): looked up once
    // through the API, and its parent's rule applies.
    let old = fake.thread(PHOTOS, "Last summer");
    let unknown = fake.message(thread_id(&old), &anna, "Old", &[("beach.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", unknown.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&unknown)).last().unwrap(), "+💯");
    let lookup = format!("/api/v10/channels/{}", thread_id(&old));
    assert!(fake.calls().iter().any(|c| c.method == "GET" && c.path == lookup));
}

/// The ids of the favourites, as `GET /api/photos?favourite=true` lists them.
fn favourites(frame: &Frame) -> Vec<i64> {
    let body: Value = frame.get("/api/photos?favourite=true").json().unwrap();
    body["photos"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect()
}

/// 🔁 shows a photo again; ⭐ marks it a favourite, here only for admins (a role), and it
/// stays one until the last ⭐ is taken off; the bot adds and removes no reaction of its own.
#[test]
fn reactions_show_a_photo_again_and_mark_favourites_for_those_allowed() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let extra = "admins = [\"555\"]\nadmin_commands = [\"favourite\", \"pause\"]";
    let frame = frame(&fake, &dir.path().join("data"), extra);
    let (anna, grandma) = (user(11, "anna"), user(13, "grandma"));
    let first = ladybird_message(&fake, PHOTOS, "first", "first.jpg");
    fake.dispatch("MESSAGE_CREATE", first.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&first)).last().unwrap(), "+💯");
    let jpeg = fixture("ladybird-progressive.jpg");
    let url = fake.serve_file("second.jpg", jpeg.clone());
    let second = fake.message(PHOTOS, &anna, "second", &[("second.jpg", &url, jpeg.len())]);
    fake.dispatch("MESSAGE_CREATE", second.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&second)).last().unwrap(), "+💯");
    let photos = library(&frame);
    let (first_id, second_id) =
        (photos[1]["id"].as_i64().unwrap(), photos[0]["id"].as_i64().unwrap());
    frame.wait_current(second_id, 5 * SECS);

    // Anna may not mark favourites here; 🔁 is for everyone.
    fake.react(&first, &anna, &[], "⭐");
    fake.react(&first, &anna, &[], "🔁");
    frame.wait_current(first_id, 5 * SECS);
    wait_for(
        5 * SECS,
        || frame.log(),
        || frame.log().contains("anna may not use the favourite reaction").then_some(()),
    );
    assert!(favourites(&frame).is_empty(), "anna is not an admin");
    // Grandma has the admins' role.
    fake.react(&first, &grandma, &[555], "⭐\u{fe0f}");
    wait_for(
        5 * SECS,
        || "no favourite".into(),
        || (favourites(&frame) == [first_id]).then_some(()),
    );

    // Anna's ⭐ goes: grandma's is still there.
    let get = format!("/api/v10/channels/{PHOTOS}/messages/{}", id_of(&first));
    fake.unreact(&first, &anna, "⭐");
    fake.wait_call(5 * SECS, "the message read", |c| c.method == "GET" && c.path == get);
    wait_for(
        5 * SECS,
        || frame.log(),
        || frame.log().contains("others are left, so the message's photos stay").then_some(()),
    );
    assert_eq!(favourites(&frame), [first_id]);
    fake.unreact(&first, &grandma, "⭐\u{fe0f}");
    wait_for(
        5 * SECS,
        || "still a favourite".into(),
        || favourites(&frame).is_empty().then_some(()),
    );

    // The bot's own reactions on the message are only its 👍 ⏱️ 💯.
    assert_eq!(fake.reactions(id_of(&first)), ["+👍", "+⏱️", "-⏱️", "+💯"]);
    let paused = |f: &Frame| f.status()["paused"].as_bool().unwrap();
    // `pause` is for admins: anna is told so, only her; the server's owner may.
    let slash = fake.slash(PHOTOS, &anna, "pause", None);
    let callback = format!("/api/v10/interactions/{}/", slash["id"].as_str().unwrap());
    fake.dispatch("INTERACTION_CREATE", slash);
    let answer = fake.wait_call(5 * SECS, "the answer", |c| c.path.starts_with(&callback));
    assert_eq!(answer.body["data"]["flags"], 64, "only to who asked: {}", answer.body);
    let text = answer.body["data"]["content"].as_str().unwrap();
    assert!(text.starts_with("Only the frame's admins may use `pause`"), "{text}");
    assert!(!paused(&frame));
    let mut slash = fake.slash(PHOTOS, &user(14, "owner"), "pause", None);
    slash["member"]["permissions"] = serde_json::json!("32"); // Manage Server
    fake.dispatch("INTERACTION_CREATE", slash);
    wait_for(5 * SECS, || "not paused".into(), || paused(&frame).then_some(()));
    // Permissions were worked out from the server's roles without a complaint.
    assert!(!frame.log().contains("ERROR"), "{}", frame.log());
}

/// `!frame sleep 1m` and `/frame wake` turn the screen off and on, and say until when.
#[test]
fn sleep_and_wake_by_wake_word_and_slash_command() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let frame = frame(&fake, &dir.path().join("data"), "");
    let screen = |f: &Frame| f.status()["screen"]["screen"].as_str().unwrap().to_owned();
    let msg = fake.message(PHOTOS, &user(11, "anna"), "!frame sleep 1m", &[]);
    fake.dispatch("MESSAGE_CREATE", msg.clone());
    let reply = fake.wait_call(5 * SECS, "the reply", |c| {
        c.body["message_reference"]["message_id"].as_str() == Some(&id_of(&msg).to_string())
    });
    let text = reply.body["content"].as_str().unwrap();
    assert!(text.starts_with("The screen is off until "), "{text}");
    assert_eq!(screen(&frame), "off");
    let mut slash = fake.slash(PHOTOS, &user(11, "anna"), "wake", None);
    slash["data"]["options"][0]["options"] =
        serde_json::json!([{ "name": "for", "type": 3, "value": "30m" }]);
    fake.dispatch("INTERACTION_CREATE", slash);
    wait_for(5 * SECS, || "not awake".into(), || (screen(&frame) == "on").then_some(()));
    let wrong = fake.message(PHOTOS, &user(11, "anna"), "!frame sleep soon", &[]);
    fake.dispatch("MESSAGE_CREATE", wrong.clone());
    assert_eq!(wait_finished(&frame, &fake, id_of(&wrong)).last().unwrap(), "+❌");
    let reply = &fake.replies_to(id_of(&wrong))[0];
    let text = reply.body["content"].as_str().unwrap();
    assert!(
        text.contains("`soon` is not a length of time") && text.contains("!frame sleep 2h"),
        "{text}"
    );
    assert_eq!(screen(&frame), "on");
}
