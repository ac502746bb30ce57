//! Who the bot listens to, and where: `[discord] listen_channels`, `ignore_channels`,
//! `listen_users`, `ignore_users`; and who may do what: `admins` and `admin_commands`.
//!
//! Channels are written as ids, as `Server:channel` (names, case-insensitive, a leading `#`
//! ignored), as a bare channel name (that name in any server), or as `DM` (direct messages
//! to the bot). Users are ids or usernames. An empty listen list means everyone and
//! everywhere, DMs included; a non-empty `listen_channels` takes DMs only if it lists `DM`,
//! so that two frames sharing one bot do not both take every DM. Ignore lists win over listen
//! lists; bots (this one included) are never listened to.
//!
//! A thread (or a forum post, which is a thread of a forum channel) follows the rules of its
//! parent channel as well as its own: listening to #photos takes the photos posted in its
//! threads, and ignoring #chat ignores its threads too.
//!
//! An id in a user list matches a user or a server role (Discord's ids are unique across
//! both), so that `admins = ["<role id>"]` makes a role's members admins. A member who may
//! manage the server is an admin there without being listed.

pub use crate::config::Guarded;

/// Where a message (or a slash command) was sent.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub channel_id: u64,
    /// The server's and the channel's names, when the message came from a server and the
    /// cache knows them; `None` for a DM.
    pub names: Option<(String, String)>,
    pub is_dm: bool,
    /// For a thread or a forum post: the channel it belongs to, with its name when known.
    pub parent: Option<(u64, Option<String>)>,
}

/// Who sent it.
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub id: u64,
    pub username: String,
    pub bot: bool,
    /// Their roles in the server it was sent in (none in a DM).
    pub roles: Vec<u64>,
    /// They may manage that server (Discord's Manage Server permission).
    pub manager: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ChannelRule {
    Id(u64),
    Dm,
    /// `Server:channel`, or a bare channel name (any server).
    Named {
        server: Option<String>,
        channel: String,
    },
}

impl ChannelRule {
    fn parse(s: &str) -> ChannelRule {
        let s = s.trim();
        if let Ok(id) = s.parse() {
            return ChannelRule::Id(id);
        }
        if s.eq_ignore_ascii_case("dm") || s.eq_ignore_ascii_case("dms") {
            return ChannelRule::Dm;
        }
        let name = |n: &str| n.trim().trim_start_matches('#').to_lowercase();
        match s.rsplit_once(':') {
            Some((server, channel)) => {
                ChannelRule::Named { server: Some(name(server)), channel: name(channel) }
            }
            None => ChannelRule::Named { server: None, channel: name(s) },
        }
    }

    fn matches(&self, place: &Place) -> bool {
        let parent = place.parent.as_ref();
        match self {
            ChannelRule::Id(id) => *id == place.channel_id || parent.is_some_and(|(p, _)| p == id),
            ChannelRule::Dm => place.is_dm,
            ChannelRule::Named { server, channel } => place.names.as_ref().is_some_and(|(s, c)| {
                let named = |name: &str| name.to_lowercase() == *channel;
                let parent_named = parent.and_then(|(_, n)| n.as_deref()).is_some_and(named);
                (named(c) || parent_named)
                    && server.as_ref().is_none_or(|want| s.to_lowercase() == *want)
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum UserRule {
    Id(u64),
    Name(String),
}

impl UserRule {
    fn parse(s: &str) -> UserRule {
        let s = s.trim();
        match s.parse() {
            Ok(id) => UserRule::Id(id),
            Err(_) => UserRule::Name(s.trim_start_matches('@').to_lowercase()),
        }
    }

    fn matches(&self, person: &Person) -> bool {
        match self {
            UserRule::Id(id) => *id == person.id || person.roles.contains(id),
            UserRule::Name(name) => person.username.to_lowercase() == *name,
        }
    }
}

/// The rules, parsed once from `[discord]`.
#[derive(Debug, Clone, Default)]
pub struct Access {
    listen_channels: Vec<ChannelRule>,
    ignore_channels: Vec<ChannelRule>,
    listen_users: Vec<UserRule>,
    ignore_users: Vec<UserRule>,
    admins: Vec<UserRule>,
    /// What only admins may do (`[discord] admin_commands`).
    admin_only: Vec<Guarded>,
}

impl Access {
    pub fn new(config: &crate::config::DiscordConfig) -> Access {
        let channels = |v: &[String]| v.iter().map(|s| ChannelRule::parse(s)).collect();
        let users = |v: &[String]| v.iter().map(|s| UserRule::parse(s)).collect();
        Access {
            listen_channels: channels(&config.listen_channels),
            ignore_channels: channels(&config.ignore_channels),
            listen_users: users(&config.listen_users),
            ignore_users: users(&config.ignore_users),
            admins: users(&config.admins),
            admin_only: config.admin_commands.clone(),
        }
    }

    /// Whether the bot reads what `person` sent in `place`. When it does not, it does nothing
    /// at all: no reaction, no reply, nothing stored.
    pub fn listens(&self, person: &Person, place: &Place) -> bool {
        if person.bot {
            return false;
        }
        let user_ok =
            self.listen_users.is_empty() || self.listen_users.iter().any(|r| r.matches(person));
        self.listens_in(place) && user_ok && !self.ignore_users.iter().any(|r| r.matches(person))
    }

    /// Whether the bot reads anything at all in `place` (catch-up reads only those channels).
    pub fn listens_in(&self, place: &Place) -> bool {
        let channel_ok = self.listen_channels.is_empty()
            || self.listen_channels.iter().any(|r| r.matches(place));
        channel_ok && !self.ignore_channels.iter().any(|r| r.matches(place))
    }

    /// Whether `person` may delete anybody's photo and use every command: listed in `admins`
    /// (by id, name or role), or a manager of the server.
    pub fn is_admin(&self, person: &Person) -> bool {
        person.manager || self.admins.iter().any(|r| r.matches(person))
    }

    /// Whether `person` may do `what`: anyone listened to, unless `admin_commands` keeps it
    /// for admins.
    pub fn may(&self, person: &Person, what: Guarded) -> bool {
        !self.admin_only.contains(&what) || self.is_admin(person)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DiscordConfig;

    fn access(f: impl FnOnce(&mut DiscordConfig)) -> Access {
        let mut c = DiscordConfig::default();
        f(&mut c);
        Access::new(&c)
    }

    fn anna() -> Person {
        Person { id: 11, username: "anna".into(), ..Person::default() }
    }

    #[test]
    fn admins_by_id_name_role_or_managing_the_server_and_what_only_they_may_do() {
        let a = access(|c| {
            c.admins = vec!["ben".into(), "77".into()];
            c.admin_commands = vec![Guarded::Pause, Guarded::Resume];
        });
        let ben = Person { id: 12, username: "Ben".into(), ..Person::default() };
        let grandma = Person { roles: vec![5, 77], ..anna() };
        let owner = Person { manager: true, ..anna() };
        assert!(!a.is_admin(&anna()));
        for admin in [&ben, &grandma, &owner] {
            assert!(a.is_admin(admin), "{admin:?}");
            assert!(a.may(admin, Guarded::Pause) && a.may(admin, Guarded::Resume));
        }
        assert!(!a.may(&anna(), Guarded::Pause) && !a.may(&anna(), Guarded::Resume));
        assert!(a.may(&anna(), Guarded::Next) && a.may(&anna(), Guarded::Favourite));
    }

    fn guild(channel_id: u64, server: &str, channel: &str) -> Place {
        Place {
            channel_id,
            names: Some((server.into(), channel.into())),
            is_dm: false,
            parent: None,
        }
    }

    fn dm() -> Place {
        Place { channel_id: 99, names: None, is_dm: true, parent: None }
    }

    #[test]
    fn empty_lists_listen_to_every_person_everywhere_but_never_to_bots() {
        let a = access(|_| {});
        assert!(a.listens(&anna(), &guild(1, "Family", "photos")));
        assert!(a.listens(&anna(), &dm()));
        let bot = Person { bot: true, ..anna() };
        assert!(!a.listens(&bot, &dm()));
    }

    #[test]
    fn channels_by_id_by_server_and_name_and_dm() {
        let a = access(|c| c.listen_channels = vec!["5".into(), "Family:#Photos".into()]);
        assert!(a.listens(&anna(), &guild(5, "Other", "x")));
        assert!(a.listens(&anna(), &guild(6, "family", "photos")));
        assert!(!a.listens(&anna(), &guild(7, "Work", "photos")));
        assert!(!a.listens(&anna(), &dm()), "a listen list without DM excludes DMs");
        let a = access(|c| c.listen_channels = vec!["photos".into(), "DM".into()]);
        assert!(a.listens(&anna(), &guild(7, "Work", "photos")));
        assert!(a.listens(&anna(), &dm()));
    }

    /// A thread in #photos (id 5) called "Holiday", and one in #chat (id 8).
    fn thread(channel_id: u64, name: &str, parent: (u64, &str)) -> Place {
        Place {
            parent: Some((parent.0, Some(parent.1.into()))),
            ..guild(channel_id, "Family", name)
        }
    }

    #[test]
    fn threads_follow_their_parent_channel() {
        let holiday = thread(50, "Holiday", (5, "photos"));
        let chatter = thread(80, "Off topic", (8, "chat"));
        for listen in ["5", "photos", "Family:photos"] {
            let a = access(|c| c.listen_channels = vec![listen.into()]);
            assert!(a.listens(&anna(), &holiday), "listening to {listen}");
            assert!(!a.listens(&anna(), &chatter), "listening to {listen}");
        }
        // A thread can be listened to by itself too.
        let a = access(|c| c.listen_channels = vec!["Holiday".into()]);
        assert!(a.listens(&anna(), &holiday));
        // Ignoring a channel ignores its threads.
        for ignore in ["8", "chat"] {
            let a = access(|c| c.ignore_channels = vec![ignore.into()]);
            assert!(!a.listens(&anna(), &chatter), "ignoring {ignore}");
            assert!(a.listens(&anna(), &holiday), "ignoring {ignore}");
        }
    }

    #[test]
    fn ignore_lists_win_and_users_match_by_id_or_name() {
        let a = access(|c| {
            c.ignore_channels = vec!["Family:random".into()];
            c.listen_users = vec!["@Anna".into(), "12".into()];
            c.ignore_users = vec!["12".into()];
            c.admins = vec!["anna".into()];
        });
        assert!(a.listens(&anna(), &guild(1, "Family", "photos")));
        assert!(!a.listens(&anna(), &guild(2, "Family", "random")));
        let ben = Person { id: 12, username: "ben".into(), ..Person::default() };
        assert!(!a.listens(&ben, &dm()), "ignored beats listed");
        let cid = Person { id: 13, username: "cid".into(), ..Person::default() };
        assert!(!a.listens(&cid, &dm()), "not on listen_users");
        assert!(a.is_admin(&anna()));
        assert!(!a.is_admin(&ben));
    }
}
