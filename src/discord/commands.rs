//! The frame's commands, one handler each, reachable two ways: by wake word in a message
//! (`!frame next`) and as the `/frame` slash command (`/frame next`). Both parse into a
//! [`FrameCommand`] and get the same [`Reply`]; only how the reply is sent differs.

use std::time::Duration;

use super::access::{Guarded, Person};
use super::Core;
use crate::app::ScreenshotError;
use crate::library::{Photo, Source};
use crate::slideshow::Command;

/// What a sender asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameCommand {
    Next,
    Prev,
    Pause,
    Resume,
    Status,
    Peek,
    /// A photo id, or `None` for the sender's last photo.
    Delete(Option<i64>),
    /// The screen off (`sleep`) or on (`wake`), for this long or until the schedule's next
    /// change.
    Sleep(Option<Duration>),
    Wake(Option<Duration>),
    Help,
}

/// The sub-commands, with what `help` and the slash command's menu say about each.
pub const COMMANDS: [(&str, &str); 10] = [
    ("next", "Show the next photo"),
    ("prev", "Show the previous photo"),
    ("pause", "Stay on this photo"),
    ("resume", "Go on rotating photos"),
    ("status", "What is showing, how many photos, uptime"),
    ("peek", "A picture of the screen now"),
    ("delete", "Delete your last photo, or one by id"),
    ("sleep", "Turn the screen off (for a while: 2h)"),
    ("wake", "Turn the screen on (for a while: 30m)"),
    ("help", "What the frame understands"),
];

impl FrameCommand {
    /// Parses what follows the wake word: `next`, `delete 12`, ... An empty string is `help`.
    pub fn parse(text: &str, wake_word: &str) -> Result<FrameCommand, String> {
        let mut words = text.split_whitespace();
        let Some(name) = words.next() else {
            return Ok(FrameCommand::Help);
        };
        let arg = words.next();
        let command = match name.to_lowercase().as_str() {
            "next" | "skip" => FrameCommand::Next,
            "prev" | "previous" | "back" => FrameCommand::Prev,
            "pause" | "stop" => FrameCommand::Pause,
            "resume" | "play" | "continue" => FrameCommand::Resume,
            "status" => FrameCommand::Status,
            "peek" | "screenshot" => FrameCommand::Peek,
            "help" => FrameCommand::Help,
            "sleep" | "off" => FrameCommand::Sleep(lasting(arg, "sleep", wake_word)?),
            "wake" | "on" => FrameCommand::Wake(lasting(arg, "wake", wake_word)?),
            "delete" | "remove" => match arg {
                None => FrameCommand::Delete(None),
                Some(id) => match id.trim_start_matches('#').parse() {
                    Ok(id) => FrameCommand::Delete(Some(id)),
                    Err(_) => {
                        return Err(format!(
                            "`{id}` is not a photo id: write `{wake_word} delete` for your last \
                             photo, or `{wake_word} delete 12` (`{wake_word} status` shows the \
                             id of the photo on screen)"
                        ))
                    }
                },
            },
            other => {
                return Err(format!(
                    "I don't know `{other}`: try `{wake_word} help` for what I understand"
                ))
            }
        };
        Ok(command)
    }
}

/// The optional length of a `sleep` or `wake`.
fn lasting(arg: Option<&str>, name: &str, wake_word: &str) -> Result<Option<Duration>, String> {
    arg.map(|a| {
        crate::screen::lasting(a).map_err(|e| {
            format!("{e}; e.g. `{wake_word} {name} 2h`, or `{wake_word} {name}` until the schedule changes")
        })
    })
    .transpose()
}

/// What the frame answers.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub text: String,
    /// A JPEG to attach (`peek`), as `frame.jpg`.
    pub jpeg: Option<Vec<u8>>,
    /// The command could not be done: the sender's message gets the error emoji too.
    pub failed: bool,
}

impl Reply {
    fn ok(text: impl Into<String>) -> Reply {
        Reply { text: text.into(), ..Reply::default() }
    }

    fn failed(text: impl Into<String>) -> Reply {
        Reply { text: text.into(), jpeg: None, failed: true }
    }
}

impl FrameCommand {
    /// What `[discord] admin_commands` calls this command, if it can be kept for admins.
    fn guarded(&self) -> Option<Guarded> {
        match self {
            FrameCommand::Next => Some(Guarded::Next),
            FrameCommand::Prev => Some(Guarded::Prev),
            FrameCommand::Pause => Some(Guarded::Pause),
            FrameCommand::Resume => Some(Guarded::Resume),
            FrameCommand::Peek => Some(Guarded::Peek),
            FrameCommand::Delete(_) => Some(Guarded::Delete),
            FrameCommand::Sleep(_) | FrameCommand::Wake(_) => Some(Guarded::Screen),
            FrameCommand::Status | FrameCommand::Help => None,
        }
    }
}

/// Whether `person` may run `command`; the refusal, in words, when not.
pub fn allowed(core: &Core, command: &FrameCommand, person: &Person) -> Result<(), String> {
    match command.guarded() {
        Some(what) if !core.access.may(person, what) => Err(format!(
            "Only the frame's admins may use `{}` here: ask one of them, or the frame's owner \
             ([discord] admins and admin_commands in its config.toml).",
            what.name()
        )),
        _ => Ok(()),
    }
}

/// Runs `command` for `person`.
pub async fn execute(core: &Core, command: FrameCommand, person: &Person) -> Reply {
    match command {
        FrameCommand::Next => {
            core.app.control(Command::Next).await;
            Reply::ok("Next photo.")
        }
        FrameCommand::Prev => {
            core.app.control(Command::Prev).await;
            Reply::ok("Previous photo.")
        }
        FrameCommand::Pause => {
            core.app.control(Command::Pause).await;
            Reply::ok("Paused: this photo stays until someone resumes.")
        }
        FrameCommand::Resume => {
            core.app.control(Command::Resume).await;
            Reply::ok("Rotating photos again.")
        }
        FrameCommand::Status => status(core).await,
        FrameCommand::Peek => peek(core).await,
        FrameCommand::Delete(id) => delete(core, id, person).await,
        FrameCommand::Sleep(lasting) => {
            Reply::ok(core.app.set_screen(false, lasting).await.describe())
        }
        FrameCommand::Wake(lasting) => {
            Reply::ok(core.app.set_screen(true, lasting).await.describe())
        }
        FrameCommand::Help => Reply::ok(help(&core.wake_word)),
    }
}

async fn status(core: &Core) -> Reply {
    let now = match core.app.status().await {
        Ok(now) => now,
        Err(e) => return library_failed(e),
    };
    let count = now.photos;
    let showing = match (&now.current, &now.beside) {
        (None, _) => "the welcome slide".to_owned(),
        (Some(p), None) => describe(p),
        (Some(p), Some(beside)) => format!("{} beside {}", describe(p), describe(beside)),
    };
    let paused = if now.paused { ", paused" } else { "" };
    let photos = if count == 1 { "1 photo".to_owned() } else { format!("{count} photos") };
    let videos = now.videos.map(|why| format!(" Videos: {why}.")).unwrap_or_default();
    Reply::ok(format!(
        "Showing {showing}{paused}. {photos} in the library; up {}. {}{videos}",
        uptime(now.uptime),
        now.screen.describe()
    ))
}

fn describe(p: &Photo) -> String {
    let mut s = format!("{} {}", p.kind, p.id);
    if let Some(sender) = &p.sender {
        s.push_str(&format!(" from {sender}"));
    }
    if let Some(caption) = &p.caption {
        s.push_str(&format!(" (“{caption}”)"));
    }
    s
}

/// "3 d 4 h", "2 h 5 min", "12 min", "40 s".
fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {mins} min")
    } else if mins > 0 {
        format!("{mins} min")
    } else {
        format!("{s} s")
    }
}

/// The widest `peek`: a phone shows no more, and it keeps a 4K screen's picture small.
const PEEK_WIDTH: u32 = 1920;

/// The largest attachment every bot may send (Discord's smallest upload limit, 8 MiB at the
/// time of writing, less room for the message around it).
pub const MAX_ATTACHMENT: usize = 7 * 1024 * 1024;

async fn peek(core: &Core) -> Reply {
    // The code is for whoever stands in front of the screen, not for a chat channel.
    if core.app.pairing_code_showing() {
        return Reply::failed(
            "The frame is showing a pairing code for a phone in the room right now: ask again \
             in a few minutes.",
        );
    }
    match core.app.screenshot_jpeg(PEEK_WIDTH).await {
        Ok(jpeg) if jpeg.len() > MAX_ATTACHMENT => {
            Reply::failed("The picture of the screen is too large for Discord: try again later.")
        }
        Ok(jpeg) => Reply { text: "The frame right now:".into(), jpeg: Some(jpeg), failed: false },
        Err(ScreenshotError::NotReady) => {
            Reply::failed("Nothing is on the screen yet: try again in a moment.")
        }
        Err(e) => {
            tracing::error!("cannot encode the screenshot: {e}");
            Reply::failed("The frame could not take a picture of its screen: its log has why.")
        }
    }
}

/// Deletes photo `id`, or `person`'s last photo. Only the photo's sender or an admin may.
async fn delete(core: &Core, id: Option<i64>, person: &Person) -> Reply {
    let admin = core.access.is_admin(person);
    // By id; a photo stored before the frame kept ids has only its sender's name.
    let mine = |p: &Photo| {
        p.source == Source::Discord
            && match p.sender_id {
                Some(id) => id == person.id,
                None => {
                    p.sender.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&person.username))
                }
            }
    };
    let photo = match id {
        Some(id) => match core.app.photo(id).await {
            Ok(Some(p)) => p,
            Ok(None) => return Reply::failed(format!("There is no photo {id}.")),
            Err(e) => return library_failed(e),
        },
        None => match core.app.photos().await {
            Ok(list) => match list.into_iter().find(|p| mine(p)) {
                Some(p) => p,
                None => return Reply::failed("You have not sent the frame any photo to delete."),
            },
            Err(e) => return library_failed(e),
        },
    };
    if !mine(&photo) && !admin {
        return Reply::failed(format!(
            "Photo {} was sent by {}: only they or an admin ([discord] admins) can delete it.",
            photo.id,
            photo.sender.as_deref().unwrap_or("someone else")
        ));
    }
    let id = photo.id;
    match core.app.delete(id).await {
        Ok(true) => Reply::ok(format!("Deleted photo {id}.")),
        Ok(false) => Reply::failed(format!("There is no photo {id}.")),
        Err(e) => library_failed(e),
    }
}

fn library_failed(e: crate::library::LibraryError) -> Reply {
    tracing::error!("the library failed: {e}");
    Reply::failed("The frame cannot read its library: its log has the details.")
}

/// The `help` text.
pub fn help(wake_word: &str) -> String {
    let mut s = String::from(
        "Send a photo here and it goes on the frame. Add `--fit cover` to fill the screen, \
         `--caption \"…\"` for a caption, `--duration 2m` to keep it up longer.\nCommands \
         (also as `/frame …`):\n",
    );
    for (name, what) in COMMANDS {
        let arg = match name {
            "delete" => " [id]",
            "sleep" | "wake" => " [2h]",
            _ => "",
        };
        s.push_str(&format!("`{wake_word} {name}{arg}`: {what}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command_and_explains_mistakes() {
        let p = |s| FrameCommand::parse(s, "!frame");
        assert_eq!(p(""), Ok(FrameCommand::Help));
        assert_eq!(p("NEXT"), Ok(FrameCommand::Next));
        assert_eq!(p("prev"), Ok(FrameCommand::Prev));
        assert_eq!(p("pause"), Ok(FrameCommand::Pause));
        assert_eq!(p("resume"), Ok(FrameCommand::Resume));
        assert_eq!(p("status"), Ok(FrameCommand::Status));
        assert_eq!(p("peek"), Ok(FrameCommand::Peek));
        assert_eq!(p("delete"), Ok(FrameCommand::Delete(None)));
        assert_eq!(p("delete #12"), Ok(FrameCommand::Delete(Some(12))));
        assert_eq!(
            p("dance").unwrap_err(),
            "I don't know `dance`: try `!frame help` for what I understand"
        );
        assert!(p("delete last").unwrap_err().starts_with("`last` is not a photo id"));
    }

    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(uptime(Duration::from_secs(40)), "40 s");
        assert_eq!(uptime(Duration::from_secs(125)), "2 min");
        assert_eq!(uptime(Duration::from_secs(7500)), "2 h 5 min");
        assert_eq!(uptime(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3 d 4 h");
    }
}
