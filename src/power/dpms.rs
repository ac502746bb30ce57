//! X11's DPMS extension: how an X server (Raspberry Pi OS with X11 chosen, or an older
//! desktop) powers its monitor off and on. The frame opens its own connection to `$DISPLAY`.

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::dpms::{self, ConnectionExt, DPMSMode};
use x11rb::rust_connection::RustConnection;

use super::Power;

pub struct Dpms {
    conn: RustConnection,
}

impl std::fmt::Debug for Dpms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dpms").finish_non_exhaustive()
    }
}

impl Dpms {
    /// Connects to `$DISPLAY` and checks that the server can power its monitor. The error says
    /// why this method cannot be used.
    pub fn connect() -> Result<Dpms, String> {
        let (conn, _) =
            x11rb::connect(None).map_err(|e| format!("cannot reach the X server: {e}"))?;
        let present = conn
            .extension_information(dpms::X11_EXTENSION_NAME)
            .map_err(|e| format!("the X server went away: {e}"))?;
        if present.is_none() {
            return Err("the X server has no DPMS extension (Xvfb has none)".into());
        }
        let capable = conn
            .dpms_capable()
            .map_err(|e| format!("the X server went away: {e}"))?
            .reply()
            .map_err(|e| format!("the X server refused DPMS: {e}"))?;
        if !capable.capable {
            return Err("the X server's monitor cannot be powered off (DPMS not capable)".into());
        }
        Ok(Dpms { conn })
    }
}

impl Power for Dpms {
    fn method(&self) -> &'static str {
        "x11-dpms"
    }

    fn set(&mut self, on: bool) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| format!("the X server refused DPMS: {e}");
        // DPMS must be enabled for a forced level to take; enabling it also lets the server's
        // own timeouts run, which the desktop's screen blanking setting governs as before.
        self.conn.dpms_enable().map_err(|e| fail(&e))?.check().map_err(|e| fail(&e))?;
        let level = if on { DPMSMode::ON } else { DPMSMode::OFF };
        self.conn.dpms_force_level(level).map_err(|e| fail(&e))?.check().map_err(|e| fail(&e))?;
        let info = self.conn.dpms_info().map_err(|e| fail(&e))?.reply().map_err(|e| fail(&e))?;
        if info.power_level != level {
            return Err(format!(
                "the X server did not take the monitor {}",
                if on { "on" } else { "off" }
            ));
        }
        self.conn.flush().map_err(|e| fail(&e))
    }
}
