//! Reactions on a message that brought photos: the favourite reaction (⭐, set by
//! `[discord] favourite_reaction`) marks them favourites, and the again reaction (🔁) shows
//! the last of them now.

use serenity::all::{Context, Reaction};

use super::Handler;
use crate::discord::access::Person;
use crate::discord::reactions::Control;

impl Handler {
    /// A reaction added to (or taken off) a message: the favourite and again controls. Only
    /// from people the frame listens to where it was made, and allowed to by
    /// `admin_commands`; on a message that brought no photo, or any other emoji, nothing.
    pub(super) async fn on_reaction(&self, ctx: &Context, reaction: &Reaction, added: bool) {
        let Some(control) = self.controls.of(&reaction.emoji) else { return };
        let Some(user_id) = reaction.user_id else { return };
        if self.me.get().is_some_and(|(me, _)| *me == user_id) {
            return;
        }
        let member = reaction.member.as_ref();
        let user =
            member.map(|m| m.user.clone()).or_else(|| ctx.cache.user(user_id).map(|u| u.clone()));
        let person = Person {
            id: user_id.get(),
            username: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
            bot: user.as_ref().is_some_and(|u| u.bot),
            roles: member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
            manager: reaction.guild_id.zip(member).is_some_and(|(guild, member)| {
                ctx.cache.guild(guild).is_some_and(|g| g.member_permissions(member).manage_guild())
            }),
        };
        let place = Self::place(ctx, reaction.channel_id, reaction.guild_id).await;
        if !self.core.access.listens(&person, &place) {
            return;
        }
        // A removal carries no member, so no roles: unmarking is decided by what is left on
        // the message instead (below), whoever took their reaction off.
        if added && !self.core.access.may(&person, control.guarded()) {
            tracing::info!(
                "Discord: {} may not use the {} reaction ([discord] admin_commands)",
                person.username,
                control.guarded().name()
            );
            return;
        }
        let photos = match self.core.app.photos_of_message(reaction.message_id.get()).await {
            Ok(photos) if !photos.is_empty() => photos,
            Ok(_) => return,
            Err(e) => {
                tracing::error!("Discord: cannot read the photos of a reacted message: {e}");
                return;
            }
        };
        match (control, added) {
            (Control::Favourite, true) => self.mark_favourite(&photos, true).await,
            (Control::Favourite, false) => {
                // Unmarked when nobody's favourite reaction is left on the message. When that
                // cannot be known, the photos stay favourites: keeping one too many is safe.
                let message = reaction.message(&ctx.http).await;
                match message {
                    Ok(m) => {
                        let left = m.reactions.iter().any(|r| {
                            r.count > u64::from(r.me)
                                && self.controls.is_favourite(&r.reaction_type)
                        });
                        if left {
                            tracing::info!(
                                "Discord: a favourite reaction was taken off; others are left, \
                                 so the message's photos stay favourites"
                            );
                        } else {
                            self.mark_favourite(&photos, false).await;
                        }
                    }
                    Err(e) => tracing::warn!(
                        "Discord: a favourite reaction was taken off, but the message cannot be \
                         read ({e}): its photos stay favourites"
                    ),
                }
            }
            (Control::Again, true) => {
                let last = photos.last().map(|p| p.id).expect("not empty");
                self.core.app.show(last).await;
                tracing::info!("Discord: {} asked to see photo {last} again", person.username);
            }
            (Control::Again, false) => {}
        }
    }

    async fn mark_favourite(&self, photos: &[crate::library::Photo], on: bool) {
        for photo in photos {
            match self.core.app.set_favourite(photo.id, on).await {
                Ok(_) => tracing::info!(
                    "Discord: photo {} {} a favourite",
                    photo.id,
                    if on { "is" } else { "is no longer" }
                ),
                Err(e) => tracing::error!("Discord: cannot mark photo {}: {e}", photo.id),
            }
        }
    }
}
