use super::*;
use crate::display::headless::HeadlessSink;
use crate::library::Retention;
use crate::render::{Fit, Limits, Matte};
use crate::slides::{SlideSettings, WelcomeInfo};
use crate::slideshow::Timing;

/// An app over a real library in `dir`, on a 320×180 headless screen, without Discord.
pub(crate) fn app(dir: &std::path::Path) -> App {
    let library = Arc::new(Library::open(dir, Retention::default()).unwrap());
    let (_, size) = watch::channel((320, 180));
    let settings = SlideSettings {
        fit: Fit::Contain,
        matte: Matte::Blur,
        limits: Limits::default(),
        captions: true,
        caption_fields: Default::default(),
        pair: false,
    };
    let renderer = Renderer::new(settings, size);
    let sink = Arc::new(HeadlessSink::default());
    let (_, welcome) = watch::channel(WelcomeInfo {
        http_url: "http://x".into(),
        page_url: None,
        discord_line: "-".into(),
        notices: vec![],
        screen_line: None,
    });
    let timing = Timing {
        interval: Duration::from_secs(60),
        transition: Duration::ZERO,
        rotation: crate::rotation::Rotation::newest(),
        clock: None,
        motion: Default::default(),
    };
    // The tasks stop when the test's runtime ends.
    let tasks = crate::lifecycle::Tasks::new(tokio_util::sync::CancellationToken::new());
    let pairing = Arc::new(Pairing::new(Sessions::in_memory()));
    let (slideshow, _) = Slideshow::spawn(
        &tasks,
        library.clone(),
        renderer.clone(),
        sink.clone(),
        timing,
        welcome,
        pairing.card(),
    );
    let (_, discord) = watch::channel(DiscordState::Disabled);
    let screen = crate::screen::Screen::spawn(
        &tasks,
        crate::screen::Plan::new(crate::schedule::Schedule::default(), None),
        crate::schedule::Clock::system(),
        crate::power::choose("headless", false),
        slideshow.clone(),
        None,
    );
    App::new(library, renderer, slideshow, sink, screen, discord).with_pairing(pairing)
}

const PHOTOS: [&[u8]; 3] = [
    include_bytes!("../../tests/fixtures/ladybird.jpg"),
    include_bytes!("../../tests/fixtures/orient-3.jpg"),
    include_bytes!("../../tests/fixtures/ladybird.png"),
];

fn upload(bytes: &[u8], caption: Option<&str>) -> IngestRequest {
    let mut req = IngestRequest::new(bytes.to_vec(), crate::library::Source::Http);
    req.caption = caption.map(str::to_owned);
    req
}

async fn showing(app: &App) -> Option<i64> {
    app.status().await.unwrap().current.map(|p| p.id)
}

/// Waits until the screen shows `id`; fails the test after 60 s.
async fn until_showing(app: &App, id: i64) {
    assert!(app.wait_on_screen(id, Duration::from_secs(60)).await, "photo {id} never showed");
}

async fn store_all(app: &App) -> Vec<i64> {
    let mut batch = app.batch();
    for bytes in PHOTOS {
        batch.ingest(upload(bytes, None)).await.unwrap();
    }
    let stored = batch.finish(None).await;
    // Only the last photo of a batch keeps its slide: the one that is shown.
    assert!(stored[..2].iter().all(|s| s.slide.is_none()) && stored[2].slide.is_some());
    stored.iter().map(|s| s.photo.id).collect()
}

#[tokio::test]
async fn a_batch_shows_its_last_photo_and_the_others_join_the_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let ids = store_all(&app).await;
    until_showing(&app, ids[2]).await;
    assert_eq!(app.status().await.unwrap().photos, 3);
    // Newest first: next goes to the earlier photos of the batch, then round again.
    for &id in [ids[1], ids[0], ids[2]].iter() {
        app.control(Command::Next).await;
        until_showing(&app, id).await;
    }
}

#[tokio::test]
async fn the_same_photo_again_with_a_new_caption_shows_the_new_caption() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let ids = store_all(&app).await;
    let mut batch = app.batch();
    batch.ingest(upload(PHOTOS[0], Some("Grandpa's birthday"))).await.unwrap();
    let again = batch.finish(None).await;
    assert!(again[0].duplicate && again[0].photo.id == ids[0]);
    until_showing(&app, ids[0]).await;
    let current = app.status().await.unwrap().current.unwrap();
    assert_eq!(current.caption.as_deref(), Some("Grandpa's birthday"));
    // It moved to the front: the next one is the newest of the others.
    app.control(Command::Next).await;
    until_showing(&app, ids[2]).await;
}

/// The screen as it is once it has stopped changing from `before` (or after 20 s).
async fn screen_unlike(app: &App, before: &[u8]) -> Vec<u8> {
    for _ in 0..2000 {
        let now = app.screenshot_png().await.unwrap();
        if now != before {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the screen never changed");
}

/// An app in `dir` started from a config file holding `text` (in `dir`), whose live
/// settings the page may change; and the file's path.
fn app_with_config(dir: &std::path::Path, text: &str) -> (App, std::path::PathBuf) {
    let config = dir.join("config.toml");
    std::fs::write(&config, text).unwrap();
    let live = LiveSettings::from(&crate::config::Config::parse(text, &config).unwrap());
    let app = app(&dir.join("data")).with_settings(SettingsFile::new(Some(config.clone())), live);
    (app, config)
}

#[tokio::test]
async fn captions_switched_from_the_page_change_the_screen_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[display]\n# Words under the photos.\ncaptions = true # who and what\n";
    let (app, config) = app_with_config(dir.path(), text);
    let mut batch = app.batch();
    batch.ingest(upload(PHOTOS[0], Some("At the lake"))).await.unwrap();
    let id = batch.finish(None).await[0].photo.id;
    until_showing(&app, id).await;
    let captioned = app.screenshot_png().await.unwrap();

    let off = SettingsChange { captions: Some(false), ..SettingsChange::default() };
    assert!(!app.change_settings(off).await.unwrap().captions);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        text.replace("captions = true", "captions = false")
    );
    let bare = screen_unlike(&app, &captioned).await;
    let on = SettingsChange { captions: Some(true), ..SettingsChange::default() };
    app.change_settings(on).await.unwrap();
    assert_eq!(screen_unlike(&app, &bare).await, captioned, "the caption is back as it was");
}

#[tokio::test]
async fn a_schedule_set_from_the_page_switches_the_screen_at_once_and_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# My frame.\n[schedule]\nwake_on_photo = \"0s\" # stays dark\n";
    let (app, config) = app_with_config(dir.path(), text);
    let mut batch = app.batch();
    batch.ingest(upload(PHOTOS[0], None)).await.unwrap();
    let id = batch.finish(None).await[0].photo.id;
    until_showing(&app, id).await;
    assert!(app.status().await.unwrap().screen.is_on());

    // An hour, two days from now: off now, whatever the time.
    let later = crate::schedule::Clock::system().now().date().tomorrow().unwrap().tomorrow();
    let day = later.unwrap().strftime("%a").to_string().to_lowercase();
    let window: crate::schedule::Window = format!("{day} 10:00-11:00").parse().unwrap();
    let change = SettingsChange {
        schedule: Some(vec![window.clone()]),
        order: Some(crate::rotation::Order::Shuffle),
        ..SettingsChange::default()
    };
    let saved = app.change_settings(change).await.unwrap();
    assert_eq!((saved.schedule, saved.order), (vec![window], crate::rotation::Order::Shuffle));
    let written = std::fs::read_to_string(&config).unwrap();
    let expected = format!(
        "# My frame.\n[schedule]\nwake_on_photo = \"0s\" # stays dark\non = [\"{day} \
         10:00-11:00\"]\n\n[display]\norder = \"shuffle\"\n"
    );
    assert_eq!(written, expected);
    let screen = app.status().await.unwrap().screen;
    assert_eq!((screen.screen, screen.why), ("off", crate::screen::Why::Schedule));
    assert!(screen.next_change.unwrap().contains("T10:00:00"));
    let black = app.screenshot_png().await.unwrap();
    let pixels = image::load_from_memory(&black).unwrap().to_rgba8();
    assert!(pixels.pixels().all(|p| p.0 == [0, 0, 0, 255]), "black while off");

    // No windows: always on again, the photo back.
    let change = SettingsChange { schedule: Some(Vec::new()), ..SettingsChange::default() };
    app.change_settings(change).await.unwrap();
    assert!(std::fs::read_to_string(&config).unwrap().contains("on = []"));
    assert!(app.status().await.unwrap().screen.is_on());
    assert_ne!(screen_unlike(&app, &black).await, black);
}

/// An animated GIF of 8 frames of 100 ms, each a different colour, looping.
pub(crate) fn animated_gif() -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    let mut encoder = GifEncoder::new(&mut out);
    encoder.set_repeat(Repeat::Infinite).unwrap();
    for i in 0..8u8 {
        let colour = image::Rgba([i * 30, 255 - i * 30, 100, 255]);
        let picture = image::RgbaImage::from_pixel(64, 36, colour);
        let delay = image::Delay::from_numer_denom_ms(100, 1);
        encoder.encode_frame(image::Frame::from_parts(picture, 0, 0, delay)).unwrap();
    }
    drop(encoder);
    out
}

/// The QR codes on the screen now.
async fn codes_on_screen(app: &App) -> Vec<String> {
    let png = app.screenshot_png().await.unwrap();
    let image = image::load_from_memory(&png).unwrap().to_rgba8();
    let slide = crate::render::Slide::new(image.width(), image.height(), image.into_raw());
    crate::render::card::read_qr(&slide.unwrap())
}

#[tokio::test]
async fn an_animation_stops_while_a_pairing_code_shows_and_plays_again_after() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let mut batch = app.batch();
    batch.ingest(upload(&animated_gif(), None)).await.unwrap();
    let stored = batch.finish(None).await;
    assert_eq!(stored[0].photo.kind, Kind::Animation);
    until_showing(&app, stored[0].photo.id).await;
    let playing = app.screenshot_png().await.unwrap();
    screen_unlike(&app, &playing).await;

    app.show_pairing_code("frame.local:8080").unwrap();
    let mut code = Vec::new();
    for _ in 0..500 {
        code = codes_on_screen(&app).await;
        if !code.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let code = code.first().and_then(|a| a.rsplit_once('=')).expect("a code on the screen").1;
    // Still: nothing paints over the code.
    let still = app.screenshot_png().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.screenshot_png().await.unwrap() == still, "the animation stopped");

    app.pair(code, "test".into()).await.unwrap();
    let after = screen_unlike(&app, &still).await;
    // Playing again: the screen keeps changing, with no code on it.
    screen_unlike(&app, &after).await;
    assert!(codes_on_screen(&app).await.is_empty());
}

#[tokio::test]
async fn deleting_the_photo_on_screen_shows_another_and_then_the_welcome_slide() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let ids = store_all(&app).await;
    until_showing(&app, ids[2]).await;
    assert!(app.delete(ids[2]).await.unwrap());
    until_showing(&app, ids[1]).await;
    assert!(!app.delete(ids[2]).await.unwrap(), "a second delete finds nothing");
    assert!(!app.show(ids[2]).await, "a deleted photo cannot be shown");
    for id in [ids[1], ids[0]] {
        assert!(app.delete(id).await.unwrap());
    }
    let mut screen = app.slideshow.watch();
    let welcome = screen.wait_for(|s| s.current.is_none());
    tokio::time::timeout(Duration::from_secs(60), welcome).await.unwrap().unwrap();
    assert_eq!(app.status().await.unwrap().photos, 0);
}

#[tokio::test]
async fn a_photo_deleted_behind_the_slideshows_back_leaves_the_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let ids = store_all(&app).await;
    until_showing(&app, ids[2]).await;
    // Gone from the library without the slideshow being told (as if the delete and the
    // slideshow's render crossed): asked to show it, the slideshow finds it gone.
    assert!(app.library.delete(ids[0]).unwrap());
    let mut screen = app.slideshow.watch();
    let before = screen.borrow_and_update().shown;
    assert!(app.show(ids[0]).await, "the slideshow still had it");
    let moved_on = screen.wait_for(|s| s.shown > before);
    tokio::time::timeout(Duration::from_secs(60), moved_on).await.unwrap().unwrap();
    assert_ne!(showing(&app).await, Some(ids[0]));
    assert!(!app.show(ids[0]).await, "it has left the rotation");
}

#[tokio::test]
async fn forgetting_a_message_deletes_its_photos_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let mut batch = app.batch();
    for (n, bytes) in PHOTOS.iter().enumerate() {
        let mut req = upload(bytes, None);
        req.message_id = Some(if n < 2 { 42 } else { 43 });
        batch.ingest(req).await.unwrap();
    }
    let ids: Vec<i64> = batch.finish(None).await.iter().map(|s| s.photo.id).collect();
    let mut forgotten = app.forget_messages(vec![42, 7]).await;
    forgotten.sort();
    assert_eq!(forgotten, ids[..2]);
    let left: Vec<i64> = app.photos().await.unwrap().iter().map(|p| p.id).collect();
    assert_eq!(left, [ids[2]]);
}
