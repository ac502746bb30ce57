//! `wlr-output-power-management-unstable-v1`: how a wlroots compositor (labwc and wayfire on
//! Raspberry Pi OS Bookworm, sway) powers its outputs off and on. The frame opens its own
//! Wayland connection beside the window's, asks for every output's power object, sets the
//! mode and waits for the compositor's answer: `mode` (done) or `failed` (it could not).

use wayland_client::globals::{registry_queue_init, GlobalListContents};
use wayland_client::protocol::{wl_output::WlOutput, wl_registry::WlRegistry};
use wayland_client::{Connection, Dispatch, EventQueue, Proxy, QueueHandle, WEnum};
use wayland_protocols_wlr::output_power_management::v1::client::{
    zwlr_output_power_manager_v1::ZwlrOutputPowerManagerV1,
    zwlr_output_power_v1::{self, Mode, ZwlrOutputPowerV1},
};

use super::Power;

/// What the compositor said about each output, by index.
#[derive(Debug, Default)]
struct Answers {
    /// `Some(true)` on, `Some(false)` off, as the last `mode` event said.
    modes: Vec<Option<bool>>,
    /// Outputs whose power object answered `failed` (the output is gone, or the compositor
    /// cannot set the mode).
    failed: Vec<bool>,
}

/// The outputs' power objects on a connection of the frame's own.
pub struct Wlr {
    // Kept: the objects live as long as the connection.
    _conn: Connection,
    queue: EventQueue<Answers>,
    answers: Answers,
    powers: Vec<ZwlrOutputPowerV1>,
}

impl std::fmt::Debug for Wlr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wlr").field("outputs", &self.powers.len()).finish_non_exhaustive()
    }
}

impl Wlr {
    /// Connects to `$WAYLAND_DISPLAY` and binds the power manager and every output. The error
    /// says why this method cannot be used (no compositor, no protocol: cage 0.1.4, say).
    pub fn connect() -> Result<Wlr, String> {
        let conn = Connection::connect_to_env()
            .map_err(|e| format!("cannot reach the Wayland compositor: {e}"))?;
        let (globals, mut queue) = registry_queue_init::<Answers>(&conn)
            .map_err(|e| format!("cannot list the compositor's globals: {e}"))?;
        let qh = queue.handle();
        let manager: ZwlrOutputPowerManagerV1 = globals.bind(&qh, 1..=1, ()).map_err(|_| {
            "the compositor has no wlr-output-power-management (cage 0.1.4, GNOME and KDE \
             have none)"
                .to_owned()
        })?;
        let outputs: Vec<WlOutput> = globals.contents().with_list(|list| {
            list.iter()
                .filter(|g| g.interface == WlOutput::interface().name)
                .map(|g| globals.registry().bind(g.name, g.version.min(3), &qh, ()))
                .collect()
        });
        if outputs.is_empty() {
            return Err("the compositor has no output".into());
        }
        let powers: Vec<ZwlrOutputPowerV1> =
            outputs.iter().enumerate().map(|(i, o)| manager.get_output_power(o, &qh, i)).collect();
        let mut answers =
            Answers { modes: vec![None; powers.len()], failed: vec![false; powers.len()] };
        // The compositor sends each output's mode as soon as its power object exists.
        queue.roundtrip(&mut answers).map_err(|e| format!("the compositor went away: {e}"))?;
        Ok(Wlr { _conn: conn, queue, answers, powers })
    }

    /// What each output's power is, as the compositor last said.
    pub fn modes(&self) -> &[Option<bool>] {
        &self.answers.modes
    }
}

impl Power for Wlr {
    fn method(&self) -> &'static str {
        "wlr-output-power"
    }

    fn set(&mut self, on: bool) -> Result<(), String> {
        self.answers.failed.iter_mut().for_each(|f| *f = false);
        let mode = if on { Mode::On } else { Mode::Off };
        for power in &self.powers {
            power.set_mode(mode);
        }
        // The answer to `set_mode` comes before the roundtrip's own.
        self.queue
            .roundtrip(&mut self.answers)
            .map_err(|e| format!("the compositor went away: {e}"))?;
        let failed = self.answers.failed.iter().filter(|f| **f).count();
        let unconfirmed = self.answers.modes.iter().filter(|m| **m != Some(on)).count();
        match (failed, unconfirmed) {
            (0, 0) => Ok(()),
            (0, n) => Err(format!(
                "the compositor did not confirm that {n} output(s) went {} (wlroots 0.15 cannot \
                 power off a headless or nested output): the screen shows black instead",
                if on { "on" } else { "off" }
            )),
            (n, _) => Err(format!(
                "the compositor could not power {n} output(s) {} (it answered `failed`): the \
                 screen shows black instead",
                if on { "on" } else { "off" }
            )),
        }
    }
}

impl Dispatch<WlRegistry, GlobalListContents> for Answers {
    fn event(
        _: &mut Self,
        _: &WlRegistry,
        _: <WlRegistry as Proxy>::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        // Outputs plugged in later are not followed: the frame's own output is there from the
        // start, and a power object for a gone output answers `failed`.
    }
}

// Neither an output's own events nor the manager's are needed: only the power objects'.
wayland_client::delegate_noop!(Answers: ignore WlOutput);
wayland_client::delegate_noop!(Answers: ignore ZwlrOutputPowerManagerV1);

impl Dispatch<ZwlrOutputPowerV1, usize> for Answers {
    fn event(
        answers: &mut Self,
        _: &ZwlrOutputPowerV1,
        event: zwlr_output_power_v1::Event,
        &index: &usize,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            zwlr_output_power_v1::Event::Mode { mode: WEnum::Value(mode) } => {
                answers.modes[index] = Some(mode == Mode::On);
            }
            zwlr_output_power_v1::Event::Failed => answers.failed[index] = true,
            _ => {}
        }
    }
}
