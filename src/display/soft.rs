//! The CPU presenter (softbuffer): for a Pi 3 or Zero 2 W, whose GPU wgpu cannot drive, and
//! wherever the only Vulkan device is a CPU one (lavapipe), where it is faster than wgpu.

use std::num::NonZeroU32;
use std::sync::Arc;

use anyhow::Context;
use winit::window::Window;

use super::fade;
use super::Present;
use crate::render::Slide;

pub struct SoftPresenter {
    /// The context must outlive the surface; softbuffer keeps it alive by ownership.
    _context: softbuffer::Context<Arc<Window>>,
    surface: softbuffer::Surface<Arc<Window>, Arc<Window>>,
    size: (u32, u32),
    /// What the window's buffers hold around a clip's picture.
    kept: fade::Kept,
}

impl SoftPresenter {
    pub fn new(window: Arc<Window>) -> anyhow::Result<SoftPresenter> {
        let context = softbuffer::Context::new(window.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("softbuffer cannot reach the display server")?;
        let surface = softbuffer::Surface::new(&context, window.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("softbuffer cannot create a surface")?;
        let size = window.inner_size();
        let mut presenter =
            SoftPresenter { _context: context, surface, size: (0, 0), kept: fade::Kept::default() };
        presenter.resize(size.width, size.height)?;
        Ok(presenter)
    }
}

impl Present for SoftPresenter {
    fn name(&self) -> &'static str {
        "softbuffer"
    }

    fn resize(&mut self, width: u32, height: u32) -> anyhow::Result<()> {
        let (Some(w), Some(h)) = (NonZeroU32::new(width), NonZeroU32::new(height)) else {
            return Ok(());
        };
        self.surface.resize(w, h).map_err(|e| anyhow::anyhow!("softbuffer resize: {e}"))?;
        // Softbuffer says a resized buffer's age is 0 itself; forgetting costs one whole draw.
        self.kept.forget();
        self.size = (width, height);
        Ok(())
    }

    fn draw(&mut self, from: Option<&Slide>, to: &Slide, weight: u32) -> anyhow::Result<()> {
        let (w, h) = self.size;
        if w == 0 || h == 0 {
            return Ok(());
        }
        let mut buffer =
            self.surface.buffer_mut().map_err(|e| anyhow::anyhow!("softbuffer: {e}"))?;
        let fading = from.filter(|_| weight < 256);
        match fading {
            Some(from) => {
                self.kept.forget();
                let (from, to) = (fade::conform(from, w, h), fade::conform(to, w, h));
                fade::blend_xrgb(from.rgba(), to.rgba(), weight, &mut buffer);
            }
            // A clip's frame is converted straight into the buffer, in its place, and the
            // still around it copied unless the buffer holds it from the frames before.
            None => {
                let age = buffer.age();
                fade::slide_into(&fade::conform(to, w, h), &mut *buffer, &mut self.kept, age)?
            }
        }
        buffer.present().map_err(|e| anyhow::anyhow!("softbuffer present: {e}"))?;
        Ok(())
    }
}
