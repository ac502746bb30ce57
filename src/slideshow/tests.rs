//! The slideshow over a real library on a headless screen: rotation, timers, renders
//! ahead, motion and the screen going off.

use super::*;
use crate::display::headless::HeadlessSink;
use crate::library::{Kind, NewPhoto, Retention};
use crate::render::{Fit, Limits, Matte};
use crate::slides::SlideSettings;

const PHOTOS: [&[u8]; 3] = [
    include_bytes!("../../tests/fixtures/ladybird.jpg"),
    include_bytes!("../../tests/fixtures/orient-3.jpg"),
    include_bytes!("../../tests/fixtures/ladybird.png"),
];

/// A slideshow running over a real library, on a headless screen, with what a test
/// looks at.
pub(crate) struct Started {
    pub show: Slideshow,
    pub state: watch::Receiver<State>,
    pub task: tokio::task::JoinHandle<()>,
    pub sink: Arc<HeadlessSink>,
    pub renderer: Renderer,
    pub tasks: Tasks,
    pub size: watch::Sender<(u32, u32)>,
}

/// Starts a slideshow on a `width`×`height` screen that turns every minute, without fades.
pub(crate) fn start(library: Arc<Library>, size: (u32, u32)) -> Started {
    start_with_clock(library, size, None)
}

/// The same, with a clock on the slides; animations play once.
fn start_with_clock(
    library: Arc<Library>,
    (width, height): (u32, u32),
    clock: Option<slides::ClockFace>,
) -> Started {
    let (size_tx, size) = watch::channel((width, height));
    let settings = SlideSettings {
        fit: Fit::Contain,
        matte: Matte::Black,
        limits: Limits::default(),
        captions: true,
        caption_fields: Default::default(),
        pair: false,
    };
    let renderer = Renderer::new(settings, size);
    let sink = Arc::new(HeadlessSink::default());
    let info = WelcomeInfo {
        http_url: "http://x".into(),
        page_url: None,
        discord_line: "off".into(),
        notices: vec![],
        screen_line: None,
    };
    // The sender may go: the slideshow then keeps the last welcome text.
    let (_, welcome) = watch::channel(info);
    let (_, card) = watch::channel(None);
    let timing = Timing {
        interval: Duration::from_secs(60),
        transition: Duration::ZERO,
        rotation: Rotation::newest(),
        motion: MotionTiming { loops: clock.is_some().then_some(1), ..MotionTiming::default() },
        clock,
    };
    let tasks = Tasks::new(CancellationToken::new());
    let (show, task) =
        Slideshow::spawn(&tasks, library, renderer.clone(), sink.clone(), timing, welcome, card);
    let state = show.watch();
    Started { show, state, task, sink, renderer, tasks, size: size_tx }
}

/// A library in `dir` holding `n` photos (ids 1..=n, the last the newest).
fn library_with(dir: &std::path::Path, n: usize) -> Arc<Library> {
    let library = Arc::new(Library::open(dir, Retention::default()).unwrap());
    for i in 0..n {
        // The same fixtures again are duplicates: make each one distinct by a trailing byte
        // (decoders ignore what follows a JPEG's end marker and a PNG's IEND).
        let mut bytes = PHOTOS[i % PHOTOS.len()].to_vec();
        bytes.extend(std::iter::repeat_n(0, i / PHOTOS.len()));
        let new = NewPhoto { format: "JPEG".into(), width: 1, height: 1, ..Default::default() };
        let id = library.add(&bytes, new).unwrap().photo.id;
        assert_eq!(id, i as i64 + 1);
    }
    library
}

/// Waits for the next published state whose photo is `id` (or the welcome slide).
async fn until_showing(state: &mut watch::Receiver<State>, id: Option<i64>) {
    let wait = state.wait_for(|s| s.current.as_ref().map(|p| p.id) == id);
    tokio::time::timeout(Duration::from_secs(3600), wait).await.unwrap().unwrap();
}

/// Waits until `n` decodes have started. (Renders read the library on the blocking pool;
/// tokio's paused clock does not move while such work runs.)
async fn until_decodes(renderer: &Renderer, n: u64) {
    let wait = async {
        while renderer.decodes() < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait).await.unwrap();
}

/// Waits until the slideshow has put something on screen after `before` slides (the same
/// photo again counts).
async fn until_shown_after(state: &mut watch::Receiver<State>, before: u64) {
    let wait = state.wait_for(|s| s.shown > before);
    tokio::time::timeout(Duration::from_secs(60), wait).await.unwrap().unwrap();
}

fn showing(state: &watch::Receiver<State>) -> Option<i64> {
    state.borrow().current.as_ref().map(|p| p.id)
}

/// Lets every task run until all wait (the paused clock moves only then, and never while
/// blocking work runs), well before any interval ends.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn asleep_the_screen_is_black_nothing_renders_and_the_newest_shows_at_wake() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_with(dir.path(), 2);
    let Started { show, mut state, sink, renderer, .. } = start(library.clone(), (160, 90));
    until_showing(&mut state, Some(2)).await;
    show.send(Command::Screen(false)).await;
    show.sync().await;
    let black = sink.current().unwrap();
    assert!(black.rgba().chunks_exact(4).all(|p| p == [0, 0, 0, 255]));
    let decodes = renderer.decodes();
    // An hour of commands and timers: no slide, no decode.
    show.send(Command::Next).await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    show.sync().await;
    assert_eq!(renderer.decodes(), decodes, "nothing rendered while asleep");
    assert!(Arc::ptr_eq(&sink.current().unwrap(), &black));
    assert_eq!(showing(&state), Some(1), "next still moves the place");
    // A photo arrives at night: it becomes current, and is what shows at wake.
    let added = library.add(PHOTOS[2], NewPhoto { format: "JPEG".into(), ..Default::default() });
    let photo = added.unwrap().photo;
    show.send(Command::Added { photo: Box::new(photo.clone()), slide: None, hold: None }).await;
    show.sync().await;
    assert_eq!(showing(&state), Some(photo.id));
    assert!(Arc::ptr_eq(&sink.current().unwrap(), &black));
    // Paused, so that the (paused, auto-advancing) clock does not rotate past it at once.
    show.send(Command::Pause).await;
    show.send(Command::Screen(true)).await;
    until_decodes(&renderer, decodes + 1).await;
    let lit = async {
        while Arc::ptr_eq(&sink.current().unwrap(), &black) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), lit).await.unwrap();
    assert_eq!(showing(&state), Some(photo.id));
}

#[tokio::test(start_paused = true)]
async fn rotates_on_the_interval_and_holds_while_paused() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_with(dir.path(), 3);
    let Started { show, mut state, task, .. } = start(library.clone(), (160, 90));
    // Newest first, then older ones on each tick, then round again.
    until_showing(&mut state, Some(3)).await;
    until_showing(&mut state, Some(2)).await;
    until_showing(&mut state, Some(1)).await;
    until_showing(&mut state, Some(3)).await;

    show.send(Command::Pause).await;
    state.wait_for(|s| s.paused).await.unwrap();
    let shown = state.borrow().shown;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(state.borrow().shown, shown, "nothing changes while paused");
    assert_eq!(show.state().current.map(|p| p.id), Some(3));

    // Removing every photo brings the welcome slide back; dropping the handle ends the task.
    for id in 1..=3 {
        library.delete(id).unwrap();
    }
    show.send(Command::Removed(vec![1, 2, 3])).await;
    until_showing(&mut state, None).await;
    drop((show, state));
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_new_interval_counts_from_now_for_the_slide_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_with(dir.path(), 2);
    let Started { show, mut state, .. } = start(library.clone(), (160, 90));
    until_showing(&mut state, Some(2)).await;
    let hour = Duration::from_secs(3600);
    show.send(Command::Retime { interval: hour, transition: Duration::ZERO }).await;
    show.sync().await;
    let shown = state.borrow().shown;
    tokio::time::sleep(hour - Duration::from_secs(1)).await;
    assert_eq!(state.borrow().shown, shown, "the slide stays for the new interval");
    until_showing(&mut state, Some(1)).await;
    show.send(Command::Retime { interval: Duration::from_secs(5), transition: Duration::ZERO })
        .await;
    let started = tokio::time::Instant::now();
    until_showing(&mut state, Some(2)).await;
    assert!(started.elapsed() <= Duration::from_secs(6), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_new_order_goes_on_from_the_photo_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_with(dir.path(), 6);
    let Started { show, mut state, .. } = start(library.clone(), (160, 90));
    until_showing(&mut state, Some(6)).await;
    show.send(Command::Pause).await;
    let mut next = async || {
        let before = state.borrow().shown;
        show.send(Command::Next).await;
        until_shown_after(&mut state, before).await;
        showing(&state).unwrap()
    };
    show.send(Command::Reorder(crate::rotation::Order::Shuffle)).await;
    show.sync().await;
    assert_eq!(show.state().current.map(|p| p.id), Some(6), "the photo on screen stays");
    // A round of the shuffle: every photo once, the one on screen not first.
    let mut round = Vec::new();
    for _ in 0..6 {
        round.push(next().await);
    }
    assert_ne!(round[0], 6);
    assert_ne!(round, [5, 4, 3, 2, 1, 6], "shuffled");
    let mut sorted = round.clone();
    sorted.sort();
    assert_eq!(sorted, [1, 2, 3, 4, 5, 6], "{round:?}");
    // Back to newest first, from where the screen is.
    let at = *round.last().unwrap();
    show.send(Command::Reorder(crate::rotation::Order::Newest)).await;
    let after = if at == 1 { 6 } else { at - 1 };
    assert_eq!(next().await, after);
    let after = if after == 1 { 6 } else { after - 1 };
    assert_eq!(next().await, after);
}

/// Colours in `slide`: a solid frame has one; the clock's text adds its own.
fn colours(slide: &Slide) -> usize {
    let mut seen: Vec<&[u8]> = slide.rgba().chunks_exact(4).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

#[tokio::test]
async fn the_clock_is_drawn_over_a_playing_animation_and_again_over_its_last_frame() {
    let dir = tempfile::tempdir().unwrap();
    let library = Arc::new(Library::open(dir.path(), Retention::default()).unwrap());
    let gif = crate::app::tests::animated_gif();
    let new = NewPhoto {
        format: "GIF".into(),
        width: 64,
        height: 36,
        kind: Kind::Animation,
        duration_ms: Some(800),
        ..Default::default()
    };
    let id = library.add(&gif, new).unwrap().photo.id;
    // 12:34:58: the animation (0.8 s, played once) ends before the minute changes.
    let start = "2026-12-07T12:34:58+01:00[Europe/Berlin]".parse::<jiff::Zoned>().unwrap();
    let face = slides::ClockFace {
        show: crate::render::text::ClockShow::Time,
        corner: crate::render::text::Corner::BottomRight,
        clock: crate::schedule::Clock::starting_at(start.timestamp(), start.time_zone().clone()),
    };
    let Started { show: _show, mut state, sink, .. } =
        start_with_clock(library, (160, 90), Some(face));
    until_showing(&mut state, Some(id)).await;
    // Playing: frame after frame, each with the clock on it, until it rests on the last.
    let mut frames: Vec<Arc<Slide>> = Vec::new();
    let mut since = std::time::Instant::now();
    while since.elapsed() < Duration::from_millis(400) {
        let now = sink.current().unwrap();
        if frames.last().is_none_or(|last| !Arc::ptr_eq(last, &now)) {
            assert!(colours(&now) > 2, "a frame without the clock");
            frames.push(now);
            since = std::time::Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(frames.len() >= 4, "the animation played: {} frames", frames.len());
    let rest = frames.last().unwrap().clone();
    // The minute changes: the clock is drawn again over the last frame, not the still.
    let ticked = loop {
        let now = sink.current().unwrap();
        if !Arc::ptr_eq(&now, &rest) {
            break now;
        }
        assert!(since.elapsed() < Duration::from_secs(5), "the clock was not drawn again");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_ne!(ticked.rgba(), rest.rgba(), "a new minute on the clock");
    let centre = |s: &Slide| s.rgba()[(45 * 160 + 80) * 4..][..4].to_vec();
    assert_eq!(centre(&ticked), centre(&rest), "over the last frame");
    assert_ne!(centre(&ticked), centre(&frames[0]), "not over the still");
    assert!(colours(&ticked) > 2);
}

/// A window is sized after the slideshow starts (a Pi's screen is rarely the configured
/// default): the photo being rendered for the old size must still come up, at the new
/// size, not the welcome slide.
#[tokio::test(start_paused = true)]
async fn a_resize_while_the_first_photo_renders_still_shows_that_photo() {
    let dir = tempfile::tempdir().unwrap();
    let Started { show: _show, mut state, sink, size, .. } =
        start(library_with(dir.path(), 1), (1920, 1080));
    // The window reports its real size while the first render is under way.
    size.send((320, 200)).unwrap();
    until_showing(&mut state, Some(1)).await;
    assert_eq!(state.borrow().shown, 1, "the welcome slide came first");
    let slide = sink.current().unwrap();
    assert_eq!((slide.width(), slide.height()), (320, 200));
}

/// The slide after the current one is rendered ahead: `next` shows it at once, even while
/// the decode gate is busy (an upload being rendered).
#[tokio::test(start_paused = true)]
async fn next_shows_the_slide_rendered_ahead_without_waiting_for_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let Started { show, mut state, renderer, .. } = start(library_with(dir.path(), 3), (160, 90));
    until_showing(&mut state, Some(3)).await;
    // The photo shown and the one after it; taking the gate waits for the second to end.
    until_decodes(&renderer, 2).await;
    let gate = renderer.hold_gate().await;
    settle().await;
    show.send(Command::Next).await;
    until_showing(&mut state, Some(2)).await;
    assert_eq!(renderer.decodes(), 2, "shown from the slide rendered ahead");
    drop(gate);
    // Then the one after that is rendered ahead in turn.
    until_decodes(&renderer, 3).await;
}

/// Five quick presses of `next` while the gate is busy cost one decode, not five in a row:
/// the renders nobody waits for any more are dropped before they take the gate.
#[tokio::test(start_paused = true)]
async fn superseded_renders_never_take_the_decode_gate() {
    let dir = tempfile::tempdir().unwrap();
    let Started { show, mut state, renderer, .. } = start(library_with(dir.path(), 7), (160, 90));
    until_showing(&mut state, Some(7)).await;
    show.send(Command::Pause).await;
    until_decodes(&renderer, 2).await;
    let gate = renderer.hold_gate().await;
    // The slide rendered ahead reaches the slideshow.
    settle().await;
    let before = renderer.decodes();
    // 6 was rendered ahead and shows at once; 5, 4, 3 and 2 each supersede the last.
    for _ in 0..5 {
        show.send(Command::Next).await;
    }
    settle().await;
    assert_eq!(showing(&state), Some(6));
    assert_eq!(renderer.decodes(), before, "nothing decodes while the gate is held");
    drop(gate);
    until_showing(&mut state, Some(2)).await;
    // Photo 2, and perhaps already photo 1 rendered ahead of it: never 5, 4 and 3 (a
    // queue of every request would have decoded those first).
    let spent = renderer.decodes() - before;
    assert!((1..=2).contains(&spent), "{spent} decodes");
}

/// A sender's `--duration` holds the new photo for its own time, once; the rotation then
/// goes back to the interval.
#[tokio::test(start_paused = true)]
async fn a_held_photo_stays_for_its_own_time_once() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_with(dir.path(), 3);
    let Started { show, mut state, .. } = start(library.clone(), (160, 90));
    until_showing(&mut state, Some(3)).await;
    let photo = library.get(1).unwrap().unwrap();
    let hold = Some(Duration::from_secs(600));
    show.send(Command::Added { photo: Box::new(photo), slide: None, hold }).await;
    until_showing(&mut state, Some(1)).await;
    let since = Instant::now();
    until_showing(&mut state, Some(3)).await;
    assert_eq!(since.elapsed().as_secs(), 600, "held for its --duration");
    let since = Instant::now();
    until_showing(&mut state, Some(2)).await;
    assert_eq!(since.elapsed().as_secs(), 60, "then the interval");
    until_showing(&mut state, Some(1)).await;
    let since = Instant::now();
    until_showing(&mut state, Some(3)).await;
    assert_eq!(since.elapsed().as_secs(), 60, "the hold was for its first showing only");
}

/// Removing the photo on screen shows the one that took its place; removing the one
/// rendered ahead drops that slide; a photo deleted behind the slideshow's back (its
/// render finds it gone) is skipped.
#[tokio::test(start_paused = true)]
async fn removed_photos_leave_the_rotation_and_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let library = library_with(dir.path(), 5);
    let Started { show, mut state, .. } = start(library.clone(), (160, 90));
    until_showing(&mut state, Some(5)).await;
    show.send(Command::Pause).await;
    // 4 is rendered ahead; removing it means `next` goes to 3.
    library.delete(4).unwrap();
    show.send(Command::Removed(vec![4])).await;
    show.send(Command::Next).await;
    until_showing(&mut state, Some(3)).await;
    // Removing the photo on screen shows the next older one in its place.
    library.delete(3).unwrap();
    show.send(Command::Removed(vec![3])).await;
    until_showing(&mut state, Some(2)).await;
    // Photo 5 is deleted without a word to the slideshow: asked for, it is found gone,
    // forgotten, and the screen goes to the photo in its place.
    library.delete(5).unwrap();
    let before = state.borrow().shown;
    assert!(show.show(5).await, "the slideshow still knew it");
    until_shown_after(&mut state, before).await;
    assert_eq!(showing(&state), Some(2));
    assert!(!show.show(5).await, "forgotten once found gone");
    show.send(Command::Next).await;
    until_showing(&mut state, Some(1)).await;
    show.send(Command::Next).await;
    until_showing(&mut state, Some(2)).await;
}

/// How long a moving slide stays, and how many times it plays.
#[test]
fn short_clips_loop_for_the_interval_and_long_ones_play_once() {
    let auto = MotionTiming::default();
    let s = Duration::from_secs;
    assert_eq!(auto.plan(s(4), s(60)), (None, s(60)), "loops until the interval is over");
    assert_eq!(auto.plan(s(14), s(10)), (None, s(14)), "plays to its end at least once");
    assert_eq!(auto.plan(s(40), s(60)), (Some(1), s(40)), "a long clip plays once");
    let twice = MotionTiming { loops: Some(2), ..auto };
    assert_eq!(twice.plan(s(4), s(60)), (Some(2), s(8)), "[video] loops = 2");
}

/// The frame's stop ends the slideshow even while sources still hold handles.
#[tokio::test(start_paused = true)]
async fn the_frame_stopping_ends_the_slideshow() {
    let dir = tempfile::tempdir().unwrap();
    let Started { show, mut state, task, tasks, .. } =
        start(library_with(dir.path(), 2), (160, 90));
    until_showing(&mut state, Some(2)).await;
    tasks.shutdown(Duration::from_secs(5)).await.unwrap();
    task.await.unwrap();
    // A source that sends afterwards is not blocked or failed.
    show.send(Command::Next).await;
    assert!(!show.show(1).await);
}
