//! The motion sensor: a PIR sensor's output on a line of the Pi's GPIO header
//! (`[schedule] motion_gpio = "GPIO17"`), read through the kernel's GPIO character device
//! (`/dev/gpiochipN`; no sysfs, no root: the `gpio` group). The line is active while the sensor
//! sees someone; each edge goes to the screen's plan, which decides what it means.

use std::path::Path;

use futures_util::{Stream, StreamExt};
use gpiocdev::line::{EdgeDetection, EdgeEvent, EdgeKind, Value};
use gpiocdev::tokio::AsyncRequest;
use gpiocdev::Request;

use crate::lifecycle::Tasks;
use crate::screen::Screen;

/// A requested line, edges detected on both sides.
#[derive(Debug)]
pub struct Sensor {
    request: Request,
    offset: u32,
    /// "GPIO17 (/dev/gpiochip0, line 17)", for the status.
    pub describe: String,
}

/// Finds the line named `name` on the machine's GPIO chips and requests it as an input with
/// edge detection. The error says what to do, in the owner's words.
pub fn open(name: &str) -> Result<Sensor, String> {
    let chips = gpiocdev::chip::chips().unwrap_or_default();
    if chips.is_empty() {
        return Err(format!(
            "no GPIO chips on this machine (/dev/gpiochip*), so no line `{name}`: a motion \
             sensor needs a Raspberry Pi's header"
        ));
    }
    let mut refused = Vec::new();
    for path in chips {
        let chip = match gpiocdev::chip::Chip::from_path(&path) {
            Ok(chip) => chip,
            Err(e) => {
                refused.push(format!("cannot open {}: {e}", path.display()));
                continue;
            }
        };
        let Some(info) = chip.find_line_info(name) else { continue };
        if info.used {
            return Err(format!(
                "`{name}` ({}, line {}) is in use by `{}`: stop that program, or wire the \
                 sensor to a free line",
                path.display(),
                info.offset,
                info.consumer
            ));
        }
        return request(&path, info.offset, name).map_err(|e| {
            format!(
                "cannot watch `{name}` ({}, line {}): {e}: the frame's user must be in the \
                 `gpio` group",
                path.display(),
                info.offset
            )
        });
    }
    let mut message = format!(
        "no GPIO line named `{name}`: `gpioinfo` lists the names (on a Raspberry Pi the \
         header's are GPIO2 to GPIO27)"
    );
    if !refused.is_empty() {
        message.push_str(&format!(
            "; some chips could not be read ({}): add the frame's user to the `gpio` group",
            refused.join("; ")
        ));
    }
    Err(message)
}

fn request(chip: &Path, offset: u32, name: &str) -> gpiocdev::Result<Sensor> {
    let request = Request::builder()
        .on_chip(chip)
        .with_consumer("discord-frame")
        .with_line(offset)
        .as_input()
        .with_edge_detection(EdgeDetection::BothEdges)
        .request()?;
    let describe = format!("{name} ({}, line {offset})", chip.display());
    Ok(Sensor { request, offset, describe })
}

/// What an edge means: a rising edge is motion starting, a falling one motion ending.
pub fn active(event: &EdgeEvent) -> bool {
    event.kind == EdgeKind::Rising
}

/// Tells `motion` of every edge in `events`, until the stream ends or fails; the failure is
/// returned. Kept apart from the device so that the edge handling is tested without one.
pub async fn follow<S>(events: S, mut motion: impl FnMut(bool)) -> Option<gpiocdev::Error>
where
    S: Stream<Item = gpiocdev::Result<EdgeEvent>>,
{
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => motion(active(&event)),
            Err(e) => return Some(e),
        }
    }
    None
}

/// Watches the sensor until the frame stops: its state now, then every edge, to `screen`.
pub fn spawn(tasks: &Tasks, sensor: Sensor, screen: Screen) {
    let stop = tasks.token();
    tasks.spawn(async move {
        // Someone may be in front of the sensor already.
        if matches!(sensor.request.value(sensor.offset), Ok(Value::Active)) {
            screen.motion(true);
        }
        let describe = sensor.describe.clone();
        let request = AsyncRequest::new(sensor.request);
        let failed = tokio::select! {
            () = stop.cancelled() => None,
            failed = follow(request.edge_events(), |active| screen.motion(active)) => failed,
        };
        if let Some(e) = failed {
            tracing::warn!("the motion sensor on {describe} stopped: {e}");
            screen.sensor(format!("{describe} stopped: {e}; restart the frame"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(kind: EdgeKind, seqno: u32) -> gpiocdev::Result<EdgeEvent> {
        Ok(EdgeEvent { timestamp_ns: 0, kind, offset: 17, seqno, line_seqno: seqno })
    }

    #[tokio::test]
    async fn rising_edges_are_motion_and_falling_ones_its_end_until_the_line_fails() {
        let events = futures_util::stream::iter(vec![
            edge(EdgeKind::Rising, 1),
            edge(EdgeKind::Falling, 2),
            edge(EdgeKind::Rising, 3),
            Err(gpiocdev::Error::InvalidArgument("the chip went away".into())),
            edge(EdgeKind::Falling, 4),
        ]);
        let mut seen = Vec::new();
        let failed = follow(events, |active| seen.push(active)).await;
        assert_eq!(seen, [true, false, true], "nothing after the failure");
        assert!(failed.unwrap().to_string().contains("went away"));
    }

    #[test]
    fn a_line_that_is_not_there_is_named_with_how_to_find_the_right_one() {
        let e = open("NO-SUCH-LINE-42").unwrap_err();
        assert!(e.contains("`NO-SUCH-LINE-42`"), "{e}");
        assert!(e.contains("gpioinfo") || e.contains("no GPIO chips"), "{e}");
    }
}
