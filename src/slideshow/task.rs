//! The slideshow's task: how each command, timer and finished render changes what is on the
//! screen.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::library::{Kind, Library, Photo};
use crate::playback::player::{self, Playing};
use crate::playback::Player;
use crate::render::{RenderError, Slide};
use crate::rotation::Entry;
use crate::slides::{self, Look, Renderer};

use super::{Command, Job, Rendered, Shot, Task, Unshown};

impl Task {
    pub(super) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut results: mpsc::Receiver<Rendered>,
    ) {
        let mut size = self.renderer.size_changes();
        let mut welcome = self.welcome.clone();
        let mut card = self.card.clone();
        let stop = self.tasks.token();
        let saved = match self.library.call(|l| Ok((l.list()?, l.showing()?, l.round()?))).await {
            Ok((photos, showing, round)) => {
                let newest: Vec<i64> = photos.iter().map(|p| p.id).collect();
                self.photos = photos.into_iter().map(|p| (p.id, p)).collect();
                Some((newest, showing, round))
            }
            Err(e) => {
                tracing::error!("cannot list the library: {e}");
                None
            }
        };
        let (newest, showing, round) = saved.unwrap_or_default();
        self.resume_rotation(newest, showing, round);
        // Back to the photo shown before a restart (or a power cut), else the first.
        match self.order.get(self.cursor).copied() {
            Some(id) => self.go_to(id, Duration::ZERO),
            None => self.show_welcome(),
        }
        loop {
            let deadline = self.deadline;
            let clock_due = self.clock_due;
            tokio::select! {
                () = stop.cancelled() => break,
                () = sleep_until(clock_due), if clock_due.is_some() => self.clock_tick(),
                command = commands.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                Some(done) = results.recv() => self.rendered(done),
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.deadline = None;
                    self.step(1, self.timing.transition);
                }
                Ok(()) = size.changed() => {
                    // Everything rendered so far is the wrong size; what was on its way to the
                    // screen (the photo shown before a restart, while the window was still
                    // being sized) is rendered again, not dropped for the welcome slide.
                    self.prepared = None;
                    self.preparing = None;
                    let wanted =
                        self.wanted.take().map(|(job, transition)| (job.shot.id, transition));
                    match (wanted, self.current) {
                        (Some((id, transition)), _) => self.go_to(id, transition),
                        (None, Some(shot)) => self.go_to(shot.id, Duration::ZERO),
                        (None, None) => self.show_welcome(),
                    }
                }
                Ok(()) = card.changed() => self.card_changed(),
                Ok(()) = welcome.changed() => {
                    if self.current.is_none() && self.wanted.is_none() {
                        self.show_welcome();
                    }
                }
            }
        }
        tracing::debug!("slideshow stopped");
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Next => self.step(1, self.timing.transition),
            Command::Prev => self.step(-1, self.timing.transition),
            Command::Retime { interval, transition } => {
                self.timing.interval = interval;
                self.timing.transition = transition;
                if self.deadline.is_some() {
                    self.arm_timer();
                }
            }
            Command::Pause => {
                self.paused = true;
                self.deadline = None;
                self.publish();
            }
            Command::Resume => {
                self.paused = false;
                self.arm_timer();
                self.publish();
            }
            Command::TogglePause => {
                let command = if self.paused { Command::Resume } else { Command::Pause };
                self.handle(command);
            }
            Command::Show(id, reply) => {
                // The photo asked for is shown alone, at its largest, even one that pairs.
                let known = self.photos.contains_key(&id);
                if known {
                    self.broken.remove(&id);
                    self.go_alone(id, self.timing.transition);
                }
                let _ = reply.send(known);
            }
            Command::Added { photo, slide, hold } => {
                let id = photo.id;
                self.arrived_asleep |= self.asleep;
                self.insert(*photo);
                self.hold = hold.map(|d| (id, d));
                self.broken.remove(&id);
                match slide.filter(|s| (s.width(), s.height()) == self.renderer.size()) {
                    Some(slide) => {
                        self.wanted = None;
                        self.display(Shot::alone(id), slide, self.timing.transition);
                    }
                    // A photo that has just arrived is shown alone first.
                    None => self.go_alone(id, self.timing.transition),
                }
            }
            Command::Stored(photos) => {
                for photo in photos {
                    self.insert(photo);
                }
                self.arm_timer();
                self.prepare_next();
            }
            Command::Sync(done) => {
                let _ = done.send(());
            }
            Command::Changed(photos) => {
                // Only a change to how a photo looks (its caption, say; not its favourite
                // flag) needs it rendered again.
                let mut ids: Vec<i64> = Vec::new();
                for photo in photos {
                    if let Some(known) = self.photos.get_mut(&photo.id) {
                        if Look::from(&*known) != Look::from(&photo) {
                            ids.push(photo.id);
                        }
                        *known = photo;
                    }
                }
                if self.prepared.as_ref().is_some_and(|(shot, _)| shot.shows_any(&ids)) {
                    self.prepared = None;
                }
                self.preparing = self.preparing.take().filter(|job| !job.shot.shows_any(&ids));
                match self.heading().filter(|shot| shot.shows_any(&ids)) {
                    Some(shot) => self.show_shot(shot, self.timing.transition),
                    None => self.prepare_next(),
                }
            }
            Command::Restyle => {
                self.prepared = None;
                self.preparing = None;
                match self.heading() {
                    Some(shot) => self.show_shot(shot, self.timing.transition),
                    None => self.prepare_next(),
                }
            }
            Command::Reorder(order) => self.reorder(order),
            Command::Screen(on) => self.screen(on),
            Command::Removed(ids) => {
                self.remove(&ids);
                for id in &ids {
                    self.photos.remove(id);
                }
                if self.prepared.as_ref().is_some_and(|(shot, _)| shot.shows_any(&ids)) {
                    self.prepared = None;
                }
                if self.current.is_some_and(|shot| shot.shows_any(&ids)) {
                    self.current = None;
                    match self.order.get(self.position()) {
                        Some(&id) => self.go_to(id, self.timing.transition),
                        None => self.show_welcome(),
                    }
                } else {
                    self.arm_timer();
                    self.prepare_next();
                }
            }
        }
    }

    /// The rotation after a start from the library's ids (`newest` first): newest first, or
    /// the shuffle's rounds where they were (photos deleted meanwhile left out, photos that
    /// came meanwhile next), at the photo that was showing.
    fn resume_rotation(
        &mut self,
        newest: Vec<i64>,
        showing: Option<i64>,
        saved: Option<(Vec<i64>, usize)>,
    ) {
        let at_showing = |order: &[i64]| showing.and_then(|s| order.iter().position(|&id| id == s));
        if !self.timing.rotation.shuffles() {
            self.cursor = at_showing(&newest).unwrap_or(0);
            self.order = newest;
        } else if let Some((ids, start)) = saved {
            (self.order, self.cursor) = crate::rotation::resume(ids, start, showing, &newest);
        } else if !newest.is_empty() {
            self.next_round();
            self.cursor = at_showing(&self.order).unwrap_or(0);
        }
    }

    /// The rotation in a new order, from the photo on screen: newest first from where it is
    /// among them, or a new round of the shuffle after it.
    fn reorder(&mut self, order: crate::rotation::Order) {
        if order == self.timing.rotation.order {
            return;
        }
        self.timing.rotation.order = order;
        let showing = self.heading().map(|shot| shot.id);
        if self.timing.rotation.shuffles() {
            self.order = showing.into_iter().collect();
            self.cursor = 0;
            if !self.photos.is_empty() {
                self.next_round();
            }
        } else {
            self.order = self.timing.rotation.round(&self.entries(), 0, None);
            self.cursor =
                showing.and_then(|s| self.order.iter().position(|&id| id == s)).unwrap_or(0);
        }
        // What was rendered ahead was the old order's next photo.
        self.prepared = None;
        self.preparing = None;
        self.prepare_next();
    }

    /// What a round is made from.
    fn entries(&self) -> Vec<Entry> {
        self.photos
            .values()
            .map(|p| Entry { id: p.id, received_at: p.received_at, favourite: p.favourite })
            .collect()
    }

    /// Appends the next round of a shuffle, forgets rounds long past, and remembers the
    /// rounds in the library (off this task).
    fn next_round(&mut self) {
        let entries = self.entries();
        let now = jiff::Timestamp::now().as_second();
        let start = self.order.len();
        let round = self.timing.rotation.round(&entries, now, self.order.last().copied());
        self.order.extend(round);
        // Keep the round before the current one (for `prev`), no more.
        let keep = 3 * self.photos.len() * self.timing.rotation.boost as usize;
        let drop = self.order.len().saturating_sub(keep.max(1)).min(self.cursor);
        self.order.drain(..drop);
        self.cursor -= drop;
        let (ids, start) = (self.order.clone(), start - drop);
        let library = self.library.clone();
        self.tasks.spawn(async move {
            if let Err(e) = library.call(move |l| l.set_round(&ids, start)).await {
                tracing::warn!("cannot remember the slideshow's round: {e}");
            }
        });
    }

    /// A photo just stored (or stored again): newest first, or next in a shuffle; it comes up
    /// in the rounds after this one like every other.
    fn insert(&mut self, photo: Photo) {
        let id = photo.id;
        self.photos.insert(id, photo);
        if !self.timing.rotation.shuffles() {
            self.remove(&[id]);
            self.order.insert(0, id);
            if self.order.len() > 1 {
                self.cursor += 1;
            }
        } else if !self.order.contains(&id) {
            let at =
                if self.order.is_empty() { 0 } else { (self.cursor + 1).min(self.order.len()) };
            self.order.insert(at, id);
        }
    }

    /// Takes `ids` out of the rotation; the cursor stays on the same photo, or on the one
    /// that followed it if it was taken out.
    fn remove(&mut self, ids: &[i64]) {
        let before = self.order[..self.cursor.min(self.order.len())]
            .iter()
            .filter(|id| ids.contains(id))
            .count();
        self.order.retain(|id| !ids.contains(id));
        self.cursor -= before;
    }

    /// A photo that turned out to be gone from the library (deleted while its render was on
    /// its way) leaves the rotation.
    fn forget(&mut self, id: i64) {
        self.remove(&[id]);
        self.photos.remove(&id);
    }

    /// The place in the order of the photo the screen is on, or on its way to (a render under
    /// way): pressing `next` three times quickly moves three photos on. 0 if none.
    fn position(&self) -> usize {
        self.cursor.min(self.order.len().saturating_sub(1))
    }

    /// The slide the screen is on, or on its way to.
    fn heading(&self) -> Option<Shot> {
        self.wanted.as_ref().map(|(job, _)| job.shot).or(self.current)
    }

    /// The photo `step` places from the current one, skipping broken ones, with its place.
    /// Forward from a pair, the step starts from its second photo.
    fn neighbour(&self, step: isize) -> Option<(usize, i64)> {
        let n = self.order.len() as isize;
        let mut pos = self.position();
        let beside = self.heading().and_then(|shot| shot.beside);
        if step > 0 && beside.is_some() && self.order.get(pos + 1).copied() == beside {
            pos += 1;
        }
        let pos = pos as isize;
        (1..=n)
            .map(|k| (pos + step * k).rem_euclid(n) as usize)
            .map(|i| (i, self.order[i]))
            .find(|(_, id)| !self.broken.contains(id))
    }

    fn step(&mut self, step: isize, transition: Duration) {
        // Back onto the second photo of a pair: the pair is the slide before.
        let back_to_pair = |(i, id): (usize, i64)| match i.checked_sub(1) {
            Some(first) if self.shot_at(first).and_then(|s| s.beside) == Some(id) => {
                (first, self.order[first])
            }
            _ => (i, id),
        };
        let target = self.neighbour(step).map(|n| if step < 0 { back_to_pair(n) } else { n });
        match target {
            // The only photo (or a shuffle's round of one) is on screen already: nothing to
            // render again, and a clip that ended stays on its last frame.
            Some((i, id)) if self.current == Some(Shot::alone(id)) && self.wanted.is_none() => {
                self.cursor = i;
                self.arm_timer();
            }
            Some((i, id)) => {
                self.cursor = i;
                self.go_to(id, transition);
            }
            None if self.order.is_empty() || self.current.is_none() => self.show_welcome(),
            None => self.arm_timer(),
        }
    }

    fn screen(&mut self, on: bool) {
        if on != self.asleep {
            return;
        }
        if on {
            self.asleep = false;
            let newest = self
                .photos
                .values()
                .max_by_key(|p| (p.received_at, p.id))
                .map(|p| p.id)
                .filter(|_| self.arrived_asleep);
            self.arrived_asleep = false;
            match newest.or(self.current.map(|shot| shot.id)) {
                Some(id) => self.go_to(id, Duration::ZERO),
                None => self.show_welcome(),
            }
        } else {
            self.asleep = true;
            self.playing = None;
            self.deadline = None;
            self.clock_due = None;
            self.bare = None;
            // Nothing rendered is kept: the night is long, and the morning's screen may differ.
            self.wanted = None;
            self.preparing = None;
            self.prepared = None;
            let (w, h) = self.renderer.size();
            self.sink.show(Arc::new(Slide::filled(w, h, [0, 0, 0, 255])), Duration::ZERO);
        }
    }

    /// Moves the cursor to photo `id`: where it is, or its next showing in a shuffle's
    /// rounds (or puts it there). The last photo of a round: the next round is made now, so
    /// that its first photo can be rendered ahead.
    fn place(&mut self, id: i64) {
        if self.order.get(self.cursor) != Some(&id) {
            let n = self.order.len();
            match (0..n).map(|k| (self.cursor + k) % n).find(|&i| self.order[i] == id) {
                Some(i) => self.cursor = i,
                None => {
                    self.order.insert(self.cursor.min(n), id);
                    self.cursor = self.cursor.min(n);
                }
            }
        }
        // Two places ahead: the photo after this one may share its slide.
        if self.timing.rotation.shuffles() && self.cursor + 2 >= self.order.len() {
            self.next_round();
        }
    }

    /// The slide for the photo at place `i`: with the next photo beside it when the two pair.
    fn shot_at(&self, i: usize) -> Option<Shot> {
        let id = *self.order.get(i)?;
        let size = |id: &i64| self.photos.get(id).map(|p| (p.width, p.height));
        // A moving picture has the screen to itself: it plays alone.
        let still = |id: &i64| self.photos.get(id).is_some_and(|p| !p.kind.moves());
        let beside = self.order.get(i + 1).copied().filter(|b| {
            *b != id
                && still(&id)
                && still(b)
                && !self.broken.contains(b)
                && matches!((size(&id), size(b)), (Some(a), Some(b)) if self.renderer.pairs(a, b))
        });
        Some(Shot { id, beside })
    }

    /// Puts photo `id` on screen, paired with the next one if they pair: at once if it was
    /// prepared, else when its render finishes.
    fn go_to(&mut self, id: i64, transition: Duration) {
        self.place(id);
        let shot = self.shot_at(self.cursor).filter(|s| s.id == id).unwrap_or(Shot::alone(id));
        self.show_shot(shot, transition);
    }

    /// Puts photo `id` on screen by itself, even where it would pair.
    fn go_alone(&mut self, id: i64, transition: Duration) {
        self.place(id);
        self.show_shot(Shot::alone(id), transition);
    }

    /// Puts `shot` on screen (the cursor is already on its photo). Asleep, it only becomes
    /// the current slide, for the status and for the wake.
    fn show_shot(&mut self, shot: Shot, transition: Duration) {
        if self.asleep {
            self.current = Some(shot);
            self.publish();
            return;
        }
        if let Some((prepared, slide)) = self.prepared.take() {
            if prepared == shot && (slide.width(), slide.height()) == self.renderer.size() {
                self.wanted = None;
                self.display(shot, slide, transition);
                return;
            }
        }
        // The slide being prepared ahead is the one wanted now: wait for it, not for a second
        // render of the same photo.
        let job = match self.preparing.take_if(|job| job.shot == shot) {
            Some(job) => job,
            None => self.start_render(shot),
        };
        self.wanted = Some((job, transition));
    }

    fn display(&mut self, shot: Shot, slide: Arc<Slide>, transition: Duration) {
        self.place(shot.id);
        if self.asleep {
            self.show_shot(shot, transition);
            return;
        }
        if self.hold.is_some_and(|(held, _)| held != shot.id) {
            self.hold = None;
        }
        self.playing = None;
        self.present(slide.clone(), transition);
        if self.card.borrow().is_none() {
            self.playing = self.play(shot, slide, transition);
        }
        self.current = Some(shot);
        self.arm_timer();
        self.publish();
        self.prepare_next();
    }

    /// A pairing code appeared or went: drawn over the slide at once, or taken off it. A clip
    /// stops on its still while a code shows, so that the code is not drawn over, and plays
    /// again from its start once the code is gone (the slide keeps its time).
    fn card_changed(&mut self) {
        let showing = self.card.borrow().is_some();
        if showing {
            self.playing = None;
        }
        let Some(bare) = self.bare.clone().filter(|_| !self.asleep) else { return };
        self.present(bare.clone(), Duration::ZERO);
        if !showing && self.playing.is_none() && self.wanted.is_none() {
            if let Some(shot) = self.current {
                self.playing = self.play(shot, bare, Duration::ZERO);
            }
        }
    }

    /// Starts playing the slide's animation or clip over its still, after the crossfade. A
    /// spoiler stays veiled and still; a pair is two stills.
    fn play(&mut self, shot: Shot, still: Arc<Slide>, transition: Duration) -> Option<Player> {
        let photo = self.photos.get(&shot.id).filter(|p| p.kind.moves() && !p.spoiler)?;
        if shot.beside.is_some() {
            return None;
        }
        let path = self.library.original_path(photo);
        let source = match photo.kind {
            Kind::Video => player::Source::Video { path, sound: self.timing.motion.sound },
            _ => player::Source::Animation { path },
        };
        let look = Look::from(photo);
        let (layout, caption) = self.renderer.motion_layout((photo.width, photo.height), &look);
        let length = Duration::from_millis(photo.duration_ms.unwrap_or(0));
        let (loops, _) = self.timing.motion.plan(length, self.timing.interval);
        tracing::info!("playing {} {} ({loops:?} times)", photo.kind, photo.id);
        let sink = self.sink.clone();
        // Its own slot: a player being stopped may still show one more frame into its own.
        self.played = Arc::default();
        let show: player::Show = match self.timing.clock.clone() {
            None => Arc::new(move |frame| sink.show(frame, Duration::ZERO)),
            // The clock on every frame, as on a photo.
            Some(face) => {
                let played = self.played.clone();
                Arc::new(move |frame: Arc<Slide>| {
                    let shown = Arc::new(face.draw(&frame));
                    *played.lock().unwrap_or_else(|e| e.into_inner()) = Some(frame);
                    sink.show(shown, Duration::ZERO);
                })
            }
        };
        Some(Player::start(Playing {
            source,
            still,
            caption,
            layout,
            loops,
            keep_bytes: self.timing.motion.keep_bytes,
            after: transition,
            show,
        }))
    }

    /// The clock's minute changed: drawn again over the slide, or over the last frame of the
    /// clip or animation on it (a playing one draws it on its next frame anyway).
    fn clock_tick(&mut self) {
        self.clock_due = None;
        let frame = self
            .playing
            .as_ref()
            .and_then(|_| self.played.lock().unwrap_or_else(|e| e.into_inner()).clone());
        match (frame, self.timing.clock.clone()) {
            (Some(frame), Some(face)) => {
                self.sink.show(Arc::new(face.draw(&frame)), Duration::ZERO);
                self.clock_due = Some(Instant::now() + face.until_next_minute());
            }
            _ => {
                if let Some(bare) = self.bare.clone() {
                    self.present(bare, Duration::ZERO);
                }
            }
        }
    }

    /// How long the slide on screen stays: the interval, or what its clip needs.
    fn slide_time(&self) -> Duration {
        let interval = self.timing.interval;
        let moving = self
            .current
            .filter(|shot| shot.beside.is_none())
            .and_then(|shot| self.photos.get(&shot.id))
            .filter(|p| p.kind.moves() && !p.spoiler);
        match moving {
            Some(photo) => {
                let length = Duration::from_millis(photo.duration_ms.unwrap_or(0));
                let (_, time) = self.timing.motion.plan(length, interval);
                time + self.timing.transition
            }
            None => interval,
        }
    }

    fn show_welcome(&mut self) {
        self.playing = None;
        self.current = None;
        self.wanted = None;
        self.deadline = None;
        if self.asleep {
            self.publish();
            return;
        }
        let (w, h) = self.renderer.size();
        let info = self.welcome.borrow().clone();
        self.present(Arc::new(slides::welcome(w, h, &info)), Duration::ZERO);
        self.publish();
    }

    /// Puts `slide` on the screen, with the clock and the pairing card drawn on it if there
    /// are any, and wakes for the clock's next minute (a copy of the slide and a few glyphs:
    /// as cheap as the welcome slide, done here).
    fn present(&mut self, slide: Arc<Slide>, transition: Duration) {
        self.bare = Some(slide.clone());
        let card = self.card.borrow().clone();
        let mut shown = slide;
        if let Some(face) = &self.timing.clock {
            shown = Arc::new(face.draw(&shown));
            self.clock_due = Some(Instant::now() + face.until_next_minute());
        }
        if let Some(card) = card {
            shown = Arc::new(card.draw(&shown));
        }
        self.sink.show(shown, transition);
    }

    /// Restarts the rotation timer from now, when rotating makes sense.
    fn arm_timer(&mut self) {
        let rotating =
            !self.paused && !self.asleep && self.order.len() > 1 && self.current.is_some();
        let interval = match self.hold {
            Some((id, d)) if self.current.is_some_and(|shot| shot.id == id) => d,
            _ => self.slide_time(),
        };
        self.deadline = rotating.then(|| Instant::now() + interval);
    }

    fn prepare_next(&mut self) {
        if self.asleep {
            return;
        }
        let Some(next) = self.neighbour(1).and_then(|(i, _)| self.shot_at(i)) else { return };
        if Some(next) == self.current
            || self.prepared.as_ref().is_some_and(|(shot, _)| *shot == next)
            || self.preparing.as_ref().is_some_and(|job| job.shot == next)
        {
            return;
        }
        self.preparing = Some(self.start_render(next));
    }

    /// Renders photo `id` on a worker; the result comes back through `results`, unless the
    /// job is dropped first.
    fn start_render(&mut self, shot: Shot) -> Job {
        self.next_request += 1;
        let request = self.next_request;
        let (library, renderer, results) =
            (self.library.clone(), self.renderer.clone(), self.results_tx.clone());
        let cancel = CancellationToken::new();
        let cancelled = cancel.clone();
        self.tasks.spawn(async move {
            let render = render_stored(&library, &renderer, shot);
            if let Some(result) = cancelled.run_until_cancelled(render).await {
                let _ = results.send(Rendered { request, shot, result }).await;
            }
        });
        Job { request, shot, _cancel: cancel.drop_guard() }
    }

    fn rendered(&mut self, done: Rendered) {
        if let Some((job, transition)) = self.wanted.take_if(|(job, _)| job.request == done.request)
        {
            let id = job.shot.id;
            {
                match done.result {
                    Ok((shot, slide)) => self.display(shot, slide, transition),
                    Err(Unshown::Gone) => {
                        self.forget(id);
                        match self.order.get(self.position()) {
                            Some(&next) => self.go_to(next, transition),
                            None => self.show_welcome(),
                        }
                    }
                    Err(Unshown::Failed(e)) => {
                        tracing::warn!("photo {id} cannot be shown, skipping it: {e}");
                        self.broken.insert(id);
                        self.current = Some(Shot::alone(id));
                        self.step(1, transition);
                    }
                }
                return;
            }
        }
        if self.preparing.take_if(|job| job.request == done.request).is_some() {
            let id = done.shot.id;
            match done.result {
                Ok(prepared) => self.prepared = Some(prepared),
                Err(Unshown::Gone) => self.forget(id),
                Err(Unshown::Failed(e)) => {
                    tracing::warn!("photo {id} cannot be shown, skipping it: {e}");
                    self.broken.insert(id);
                }
            }
        }
        // Anything else is stale: nobody waits for it any more.
    }

    fn publish(&self) {
        let photo = |id: Option<i64>| id.and_then(|id| self.photos.get(&id).cloned());
        let current = photo(self.current.map(|shot| shot.id));
        let beside = photo(self.current.and_then(|shot| shot.beside));
        let paused = self.paused;
        self.state.send_modify(|s| {
            s.current = current;
            s.beside = beside;
            s.paused = paused;
            s.shown += 1;
        });
    }
}

/// Reads the stored photos of a slide and renders them with their own fit and caption. When
/// the second photo of a pair cannot be read or drawn, the first is shown alone (the second
/// is found out when its own turn comes).
async fn render_stored(
    library: &Arc<Library>,
    renderer: &Renderer,
    shot: Shot,
) -> Result<(Shot, Arc<Slide>), Unshown> {
    // A clip is not read into memory: GStreamer reads its file.
    let read = |id: i64| async move {
        let found = library.call(move |l| match l.get(id)? {
            Some(photo) if photo.kind == Kind::Video => Ok(Some((photo, None))),
            Some(_) => Ok(l.read(id)?.map(|(photo, bytes)| (photo, Some(Arc::new(bytes))))),
            None => Ok(None),
        });
        match found.await {
            Ok(Some(found)) => Ok(found),
            Ok(None) => Err(Unshown::Gone),
            Err(e) => Err(Unshown::Failed(e.to_string())),
        }
    };
    let (photo, bytes) = read(shot.id).await?;
    let look = Look::from(&photo);
    let Some(bytes) = bytes else {
        let path = library.original_path(&photo);
        let still = renderer.video_still(path, (photo.width, photo.height), look).await;
        return still
            .map(|slide| (Shot::alone(shot.id), slide))
            .map_err(|e| Unshown::Failed(e.to_string()));
    };
    if let Some(beside) = shot.beside {
        if let Ok((other_photo, Some(other))) = read(beside).await {
            let other_look = Look::from(&other_photo);
            match renderer.pair((bytes.clone(), look.clone()), (other, other_look)).await {
                Ok(slide) => return Ok((shot, slide)),
                Err(e) => tracing::warn!("photos {} and {beside} cannot be paired: {e}", shot.id),
            }
        }
    }
    let slide = renderer.photo(bytes, look).await;
    slide
        .map(|slide| (Shot::alone(shot.id), slide))
        .map_err(|e: RenderError| Unshown::Failed(e.to_string()))
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
