//! The display without a screen: tests, servers, and a Pi whose display server is not up. It
//! keeps the current slide for `/api/screenshot.png` and nothing else.

use std::sync::Arc;
use std::time::Duration;

use super::{FrameSink, Shown};
use crate::render::Slide;

/// A [`FrameSink`] that only remembers.
#[derive(Debug, Default)]
pub struct HeadlessSink {
    shown: Shown,
}

impl FrameSink for HeadlessSink {
    fn show(&self, slide: Arc<Slide>, _transition: Duration) {
        self.shown.set(slide);
    }

    fn current(&self) -> Option<Arc<Slide>> {
        self.shown.get()
    }

    fn backend(&self) -> &'static str {
        "headless"
    }
}
