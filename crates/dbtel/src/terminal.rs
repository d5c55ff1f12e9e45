//! Text for terminals: control characters in what drivers sent are shown escaped, so an escape
//! sequence in a session id, an error name or a field name cannot set the window title, clear
//! the screen or plant a link.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character (C0, DEL and C1: `char::is_control`) written as an
/// escape: `\n`, `\r`, `\t`, `\x1b`, `\u{9b}`; a backslash stays a backslash. Text without
/// control characters is returned as is.
pub(crate) fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escaped("plain – text ✓"), "plain – text ✓");
        assert_eq!(
            escaped("a\x1b]0;owned\x07b\x1b[2Jc"),
            "a\\x1b]0;owned\\x07b\\x1b[2Jc"
        );
        assert_eq!(escaped("\u{9b}31m\n\t\r\x7f"), "\\u{9b}31m\\n\\t\\r\\x7f");
        assert!(!escaped("\x1b]8;;http://evil\x1b\\link").contains('\x1b'));
    }
}
