//! The GPU presenter (pixels, over wgpu's Vulkan backend): for a Pi 4 or 5 (Mesa v3dv) and
//! any machine with a real GPU. The slide is uploaded as a texture and scaled by the GPU.

use std::sync::Arc;

use anyhow::Context;
use pixels::{Pixels, PixelsBuilder, SurfaceTexture};
use winit::window::Window;

use super::fade;
use super::Present;
use crate::render::Slide;

pub struct PixelsPresenter {
    pixels: Pixels<'static>,
    size: (u32, u32),
    /// What the buffer holds around a clip's picture: pixels keeps one buffer of its own,
    /// uploaded whole each frame, so it holds what was drawn last (age 1) until resized.
    kept: fade::Kept,
}

impl PixelsPresenter {
    pub fn new(window: Arc<Window>) -> anyhow::Result<PixelsPresenter> {
        let size = window.inner_size();
        let (w, h) = (size.width.max(1), size.height.max(1));
        let surface = SurfaceTexture::new(w, h, window);
        // pixels' GL path cannot get a surface on Linux (measured on the development
        // machines), and the GLES 2 of a Pi 3 is below what wgpu supports: Vulkan only, unless
        // WGPU_BACKEND says.
        let backends = pixels::wgpu::Backends::from_env().unwrap_or(pixels::wgpu::Backends::VULKAN);
        let pixels = PixelsBuilder::new(w, h, surface)
            .wgpu_backend(backends)
            .build()
            .context("wgpu found no usable Vulkan adapter for pixels")?;
        Ok(PixelsPresenter { pixels, size: (w, h), kept: fade::Kept::default() })
    }

    /// Whether the adapter is a real GPU rather than a CPU rasteriser (lavapipe/llvmpipe),
    /// on which softbuffer is faster and lighter.
    pub fn is_hardware(&self) -> bool {
        self.pixels.adapter().get_info().device_type != pixels::wgpu::DeviceType::Cpu
    }

    pub fn adapter_name(&self) -> String {
        let info = self.pixels.adapter().get_info();
        format!("{} ({:?})", info.name, info.device_type)
    }
}

impl Present for PixelsPresenter {
    fn name(&self) -> &'static str {
        "pixels"
    }

    fn resize(&mut self, width: u32, height: u32) -> anyhow::Result<()> {
        if width == 0 || height == 0 {
            return Ok(());
        }
        self.pixels.resize_surface(width, height).context("pixels: resizing the surface")?;
        self.pixels.resize_buffer(width, height).context("pixels: resizing the buffer")?;
        self.kept.forget();
        self.size = (width, height);
        Ok(())
    }

    fn draw(&mut self, from: Option<&Slide>, to: &Slide, weight: u32) -> anyhow::Result<()> {
        let (w, h) = self.size;
        let to = fade::conform(to, w, h);
        let frame = self.pixels.frame_mut();
        match from {
            Some(from) if weight < 256 => {
                self.kept.forget();
                let from = fade::conform(from, w, h);
                fade::blend_rgba(from.rgba(), to.rgba(), weight, frame);
            }
            // A clip's frame is converted straight into the texture's pixels, in its place.
            _ => fade::slide_into(&to, frame, &mut self.kept, 1)?,
        }
        self.pixels.render().context("pixels: presenting the frame")?;
        Ok(())
    }
}
