//! How the frame powers the panel off and on: the best method the setup has. Whatever the
//! method, the slideshow shows black while the screen is off, so that a method that fails (or
//! none at all) still leaves a dark screen rather than a photo glowing all night.
//!
//! Methods here, best first: HDMI-CEC when the owner says the screen is a TV ([`cec`]), a
//! wlroots compositor's output power protocol ([`wlr`]), X11's DPMS ([`dpms`]), a DSI panel's
//! backlight (`/sys/class/backlight/*/bl_power`, the official Raspberry Pi touch displays),
//! and black alone. The method in use, and why, is in `/api/status` as `power_method` and
//! `power_note`.

pub mod cec;
pub mod dpms;
pub mod wlr;

use std::path::{Path, PathBuf};

/// A way to switch the panel. Calls may block briefly (a write to sysfs, a request to the
/// display server): the screen task makes them on the blocking pool.
pub trait Power: Send {
    /// The method's name in `/api/status`.
    fn method(&self) -> &'static str;
    /// Why this method, in words, when that is worth saying (black: why nothing better).
    fn note(&self) -> Option<String> {
        None
    }
    fn set(&mut self, on: bool) -> Result<(), String>;
}

/// No way to power the panel: the slideshow's black is all there is.
#[derive(Debug)]
pub struct Black {
    why: String,
}

impl Power for Black {
    fn method(&self) -> &'static str {
        "black"
    }

    fn note(&self) -> Option<String> {
        Some(self.why.clone())
    }

    fn set(&mut self, _on: bool) -> Result<(), String> {
        Ok(())
    }
}

/// A backlight's `bl_power`: 0 is on, 4 (`FB_BLANK_POWERDOWN`) is off.
#[derive(Debug)]
pub struct Backlight {
    bl_power: PathBuf,
}

impl Backlight {
    /// The first backlight under `class` (`/sys/class/backlight`) whose `bl_power` the frame
    /// may write (the package puts the `frame` user in the `video` group, which udev gives it
    /// on Raspberry Pi OS).
    pub fn find(class: &Path) -> Option<Backlight> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(class)
            .ok()?
            .flatten()
            .map(|e| e.path().join("bl_power"))
            .filter(|p| std::fs::OpenOptions::new().write(true).open(p).is_ok())
            .collect();
        found.sort();
        found.into_iter().next().map(|bl_power| Backlight { bl_power })
    }
}

impl Power for Backlight {
    fn method(&self) -> &'static str {
        "backlight"
    }

    fn note(&self) -> Option<String> {
        Some(format!("through {}", self.bl_power.display()))
    }

    fn set(&mut self, on: bool) -> Result<(), String> {
        let value = if on { "0" } else { "4" };
        std::fs::write(&self.bl_power, value)
            .map_err(|e| format!("cannot write {}: {e}", self.bl_power.display()))
    }
}

/// The best method this setup has, in the order the README gives; black when none works.
/// `backend` is the display's (`headless`, `pixels`, `softbuffer`); `cec`: the owner says
/// the screen is a TV that speaks HDMI-CEC, which then comes first (a TV told to sleep
/// sleeps; a TV whose signal is cut shows "no signal").
pub fn choose(backend: &str, cec: bool) -> Box<dyn Power> {
    if backend == "headless" {
        return Box::new(Black { why: "the headless display has no panel to power off".into() });
    }
    let mut tried = Vec::new();
    if cec {
        match cec::Cec::connect() {
            Ok(cec) => return Box::new(cec),
            Err(e) => tried.push(format!("[schedule] cec is on, but {e}")),
        }
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("WAYLAND_DISPLAY") {
        match wlr::Wlr::connect() {
            Ok(wlr) => return Box::new(wlr),
            Err(e) => tried.push(e),
        }
    }
    // Under Wayland, `DISPLAY` is Xwayland's, whose DPMS powers nothing.
    if !set("WAYLAND_DISPLAY") && set("DISPLAY") {
        match dpms::Dpms::connect() {
            Ok(dpms) => return Box::new(dpms),
            Err(e) => tried.push(e),
        }
    }
    match Backlight::find(Path::new("/sys/class/backlight")) {
        Some(backlight) => return Box::new(backlight),
        None => tried.push("no writable /sys/class/backlight/*/bl_power".into()),
    }
    Box::new(Black {
        why: format!(
            "no way to power the panel off: {}; the screen shows black while it is off",
            tried.join("; ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlight_is_found_where_it_may_be_written_and_switched_by_bl_power() {
        let class = tempfile::tempdir().unwrap();
        assert!(Backlight::find(class.path()).is_none());
        let panel = class.path().join("10-0045");
        std::fs::create_dir(&panel).unwrap();
        std::fs::write(panel.join("bl_power"), "0\n").unwrap();
        let mut backlight = Backlight::find(class.path()).unwrap();
        backlight.set(false).unwrap();
        assert_eq!(std::fs::read_to_string(panel.join("bl_power")).unwrap(), "4");
        backlight.set(true).unwrap();
        assert_eq!(std::fs::read_to_string(panel.join("bl_power")).unwrap(), "0");
        assert_eq!(backlight.method(), "backlight");
    }
}
