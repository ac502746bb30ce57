//! A message's text as people read it in the Discord app, for a caption: `<@1234…>` becomes
//! `@anna`, `<#…>` `#photos`, `<@&…>` `@family`, a custom emoji `<:party:…>` `:party:`, and
//! markdown (`**bold**`, `||spoiler||`, `# heading`, `> quote`, `[text](link)`) its plain text.
//! Mentions are resolved by serenity's `content_safe` from the message and the cache; the
//! rest is a small scan, since no crate knows Discord's own flavour of markdown.

use serenity::all::{Cache, GuildId, User};
use serenity::utils::{content_safe, ContentSafeOptions};

/// `text` with mentions as names, custom emoji as `:name:` and markdown removed.
pub fn readable(cache: &Cache, text: &str, mentions: &[User], guild: Option<GuildId>) -> String {
    // Captions are drawn, never sent: @everyone needs no defusing.
    let mut options = ContentSafeOptions::new().clean_everyone(false).clean_here(false);
    if let Some(guild) = guild {
        options = options.display_as_member_from(guild);
    }
    // Mentioned people by the name the app shows: their nickname in the server, else their
    // display name, else their username (serenity would use the username).
    let people: Vec<User> = mentions
        .iter()
        .map(|u| {
            let nick = u.member.as_ref().and_then(|m| m.nick.clone());
            let mut shown = u.clone();
            shown.name = nick.unwrap_or_else(|| u.display_name().to_owned());
            shown
        })
        .collect();
    let text = content_safe(cache, text, &options, &people);
    plain(&custom_emoji(&text))
}

/// `<:name:123>` and `<a:name:123>` (animated) as `:name:`.
fn custom_emoji(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match emoji_name(tail) {
            Some((name, len)) => {
                out.push(':');
                out.push_str(name);
                out.push(':');
                rest = &tail[len..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The name and length of a custom emoji at the start of `s`.
fn emoji_name(s: &str) -> Option<(&str, usize)> {
    let end = s.find('>')?;
    let inner = &s[1..end];
    let inner = inner.strip_prefix('a').unwrap_or(inner).strip_prefix(':')?;
    let (name, id) = inner.split_once(':')?;
    let name_ok = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    let id_ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_digit());
    (name_ok && id_ok).then_some((name, end + 1))
}

/// Discord's markdown as plain text: the marks go, the words stay.
fn plain(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(|line| inline(block(line))).collect();
    lines.join("\n")
}

/// A line without its block mark: headings (`#`, `##`, `###`), subtext (`-#`), quotes (`>`,
/// `>>>`) and list bullets (`-`, `*`).
fn block(line: &str) -> &str {
    let trimmed = line.trim_start();
    for mark in [">>> ", "> ", "### ", "## ", "# ", "-# ", "- ", "* "] {
        if let Some(rest) = trimmed.strip_prefix(mark) {
            return rest;
        }
    }
    line
}

/// A line without inline marks: `**`, `__`, `~~`, `||`, backticks; a single `*` or `_` around
/// a word; `[text](link)` as its text.
fn inline(line: &str) -> String {
    let mut line = masked_links(line);
    for mark in ["```", "**", "__", "~~", "||", "`"] {
        line = line.replace(mark, "");
    }
    // `*word*` and `_word_`: only a mark next to a letter on one side and not the other, so
    // that "5 * 3" and "snake_case" stay as they are.
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '*' || c == '_' {
            let before = i.checked_sub(1).map(|j| chars[j]).filter(|c| !c.is_whitespace());
            let after = chars.get(i + 1).copied().filter(|c| !c.is_whitespace());
            let opens = before.is_none() && after.is_some_and(char::is_alphanumeric);
            let closes = after.is_none() && before.is_some_and(|b| b.is_alphanumeric() || b == '.');
            if opens || closes {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// `[text](https://…)` as `text`.
fn masked_links(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let parsed = after.find("](").and_then(|close| {
            let target = &after[close + 2..];
            let end = target.find(')')?;
            let url = &target[..end];
            let is_link = url.starts_with("http://") || url.starts_with("https://");
            is_link.then_some((&after[..close], close + 2 + end + 1))
        });
        out.push_str(&rest[..open]);
        match parsed {
            Some((text, len)) => {
                out.push_str(text);
                rest = &after[len..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_emoji_become_their_names() {
        assert_eq!(custom_emoji("yay <:party:123456> <a:dance:7>!"), "yay :party: :dance:!");
        assert_eq!(custom_emoji("a < b > c <:x:> <:y:1"), "a < b > c <:x:> <:y:1");
    }

    #[test]
    fn markdown_goes_and_the_words_stay() {
        assert_eq!(
            plain("**Grandma's** _birthday_ ~~cake~~ ||surprise||"),
            "Grandma's birthday cake surprise"
        );
        assert_eq!(plain("# At the lake\n> so cold\n-# 1998"), "At the lake\nso cold\n1998");
        assert_eq!(plain("see [the album](https://example.com/a) `now`"), "see the album now");
        assert_eq!(
            plain("5 * 3 = 15, snake_case, [not a link] (x)"),
            "5 * 3 = 15, snake_case, [not a link] (x)"
        );
        assert_eq!(plain("*wow*"), "wow");
    }

    #[test]
    fn mentions_resolve_to_names_from_the_message() {
        let cache = Cache::default();
        let mut anna = User::default();
        anna.id = serenity::all::UserId::new(11);
        anna.name = "anna".into();
        let text = readable(&cache, "for <@11> and <@!11> <:heart:99>", &[anna], None);
        assert_eq!(text, "for @anna and @anna :heart:");
    }
}
