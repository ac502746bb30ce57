//! `/frame`, Discord's slash command: registered when the bot connects, and each use checked
//! as a message's command is, then answered (privately where only the asker needs it).

use serenity::all::{
    Command as SlashCommand, CommandDataOptionValue, CommandInteraction, CommandOptionType,
    Context, CreateAttachment, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseMessage, EditInteractionResponse,
};

use super::Handler;
use crate::discord::access::Person;
use crate::discord::commands::{self, FrameCommand, COMMANDS};

impl Handler {
    /// Answers an interaction at once, visible only to the person who used it.
    async fn answer_privately(&self, ctx: &Context, cmd: &CommandInteraction, text: &str) {
        let message = CreateInteractionResponseMessage::new().content(text).ephemeral(true);
        let response = CreateInteractionResponse::Message(message);
        if let Err(e) = cmd.create_response(&ctx.http, response).await {
            tracing::warn!("Discord: cannot answer /frame: {e}");
        }
    }

    pub(super) async fn on_slash(&self, ctx: &Context, cmd: &CommandInteraction) {
        if cmd.data.name != "frame" {
            return;
        }
        // Discord computes the member's permissions in the channel for an interaction.
        let member = cmd.member.as_deref();
        let person = Person {
            id: cmd.user.id.get(),
            username: cmd.user.name.clone(),
            bot: cmd.user.bot,
            roles: member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
            manager: member.and_then(|m| m.permissions).is_some_and(|p| p.manage_guild()),
        };
        let place = Self::place(ctx, cmd.channel_id, cmd.guild_id).await;
        if !self.core.access.listens(&person, &place) {
            // Someone ignored gets nothing; in a channel the frame does not read, the person
            // asking is told so, unless another frame sharing this bot answers there.
            if !person.bot && !self.core.access.listens_in(&place) {
                if self.quiet_elsewhere {
                    tracing::info!(
                        "Discord: /frame asked where this frame does not read: left to the \
                         frame that does ([discord] quiet_elsewhere)"
                    );
                } else {
                    let text = "This frame does not listen in this channel: use /frame where \
                                its photos are posted (its owner sets the channels in \
                                [discord] listen_channels).";
                    self.answer_privately(ctx, cmd, text).await;
                }
            }
            return;
        }
        let command = match cmd.data.options.first() {
            None => Ok(FrameCommand::Help),
            Some(sub) => {
                let option = |name: &str| match &sub.value {
                    CommandDataOptionValue::SubCommand(options) => {
                        options.iter().find(|o| o.name == name).map(|o| o.value.clone())
                    }
                    _ => None,
                };
                match sub.name.as_str() {
                    "delete" => Ok(FrameCommand::Delete(option("id").and_then(|v| v.as_i64()))),
                    // `/frame sleep for:2h` reads as `sleep 2h`.
                    name @ ("sleep" | "wake") => {
                        let lasting = option("for");
                        let lasting = lasting.as_ref().and_then(|v| v.as_str()).unwrap_or("");
                        FrameCommand::parse(&format!("{name} {lasting}"), &self.core.wake_word)
                    }
                    name => FrameCommand::parse(name, &self.core.wake_word),
                }
            }
        };
        let command = command.and_then(|c| commands::allowed(&self.core, &c, &person).map(|()| c));
        let command = match command {
            Ok(command) => command,
            Err(text) => {
                // A mistake is answered at once, and only to the person who made it.
                self.answer_privately(ctx, cmd, &text).await;
                return;
            }
        };
        // Discord waits 3 s for the first answer, which a Pi over Wi-Fi encoding a screenshot
        // can miss: say "thinking" at once, then edit in the answer. Help, status and delete
        // are for the person asking; what changes the screen is said to everyone.
        let private =
            matches!(command, FrameCommand::Help | FrameCommand::Status | FrameCommand::Delete(_));
        let thinking = CreateInteractionResponseMessage::new().ephemeral(private);
        if let Err(e) =
            cmd.create_response(&ctx.http, CreateInteractionResponse::Defer(thinking)).await
        {
            tracing::warn!("Discord: cannot answer /frame: {e}");
            return;
        }
        let reply = commands::execute(&self.core, command, &person).await;
        let mut edit = EditInteractionResponse::new().content(reply.text);
        if let Some(jpeg) = reply.jpeg {
            edit = edit.new_attachment(CreateAttachment::bytes(jpeg, "frame.jpg"));
        }
        let answer = || cmd.edit_response(&ctx.http, edit.clone());
        if let Err(e) = crate::discord::feedback::patiently(answer).await {
            tracing::warn!("Discord: cannot answer /frame: {e}");
        }
    }

    /// `/frame` with its sub-commands.
    fn slash_command() -> CreateCommand {
        let options = COMMANDS.iter().map(|&(name, what)| {
            let sub = CreateCommandOption::new(CommandOptionType::SubCommand, name, what);
            match name {
                "delete" => sub.add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::Integer,
                        "id",
                        "The photo's id (default: your last photo)",
                    )
                    .required(false),
                ),
                "sleep" | "wake" => sub.add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::String,
                        "for",
                        "How long: 30m, 2h (default: until the schedule's next change)",
                    )
                    .required(false),
                ),
                _ => sub,
            }
        });
        CreateCommand::new("frame").description("The photo frame").set_options(options.collect())
    }

    pub(super) async fn register(&self, ctx: &Context) {
        let command = Self::slash_command();
        if self.guild_ids.is_empty() {
            match SlashCommand::set_global_commands(&ctx.http, vec![command]).await {
                Ok(_) => tracing::info!("Discord: /frame registered globally"),
                Err(e) => tracing::warn!("Discord: cannot register /frame: {e}"),
            }
        } else {
            for &guild in &self.guild_ids {
                let result = guild.set_commands(&ctx.http, vec![command.clone()]);
                match result.await {
                    Ok(_) => tracing::info!("Discord: /frame registered in server {guild}"),
                    Err(e) => tracing::warn!("Discord: cannot register /frame in {guild}: {e}"),
                }
            }
        }
    }
}
