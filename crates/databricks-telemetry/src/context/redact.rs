//! Redaction of free text that might carry secrets: tokens, JWTs, passwords, home paths, SQL.
//!
//! Only two strings in a frontend log are free text a driver could fill carelessly: the error
//! name and the stack trace. Both pass through here before they leave the process.

/// The longest stack trace kept, in bytes; the rest is cut.
const MAX_STACK_TRACE_BYTES: usize = 4096;

/// The longest error name kept, in bytes.
const MAX_ERROR_NAME_BYTES: usize = 128;

const REDACTED: &str = "<redacted>";

/// Words that mark a line as SQL text (whole words, any case).
const SQL_WORDS: &[&str] = &[
    "select", "insert", "update", "delete", "from", "where", "values", "merge", "create", "drop",
    "alter", "grant", "truncate",
];

/// Key names whose `key=value` or `key: value` values are secrets (matched as substrings of the
/// key, any case).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "token",
    "secret",
    "authorization",
    "apikey",
    "api_key",
    "credential",
    "private_key",
];

/// Reduces a driver-supplied error name to a class or category name: the leading run of
/// identifier characters (`A-Z a-z 0-9 _ . : -`, with a lone `:` ending it), at most
/// [`MAX_ERROR_NAME_BYTES`]. Anything that looks like a token becomes `<redacted>`; an empty
/// result becomes `UnknownError`.
pub(crate) fn error_name(raw: &str) -> String {
    let trimmed = raw.trim_start();
    let mut end = 0;
    let bytes = trimmed.as_bytes();
    while end < bytes.len() && end < MAX_ERROR_NAME_BYTES {
        let b = bytes[end];
        let is_path_sep = b == b':' && bytes.get(end + 1) == Some(&b':');
        if is_path_sep {
            end += 2;
            continue;
        }
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-' {
            end += 1;
        } else {
            break;
        }
    }
    let name = trimmed[..end.min(trimmed.len())].trim_end_matches(':');
    if name.is_empty() {
        "UnknownError".to_owned()
    } else if looks_like_token(name) {
        REDACTED.to_owned()
    } else {
        name.to_owned()
    }
}

/// Redacts a stack trace line by line: a line with SQL words or quoted text is replaced whole;
/// in the others, tokens, JWTs, bearer credentials, secret `key=value` pairs and home-directory
/// paths are replaced. The result is cut to [`MAX_STACK_TRACE_BYTES`].
pub(crate) fn stack_trace(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_STACK_TRACE_BYTES));
    for line in raw.lines() {
        let clean = redact_line(line);
        if out.len() + clean.len() + 1 > MAX_STACK_TRACE_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&clean);
    }
    out
}

fn redact_line(line: &str) -> String {
    if line.contains('\'') || line.contains('"') || line.contains('`') || has_sql_word(line) {
        return "<redacted line>".to_owned();
    }
    let mut words: Vec<String> = Vec::new();
    let mut hide_next = false;
    for word in line.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if lower == "bearer" || lower == "basic" {
            // An authorisation scheme: the credential follows it.
            words.push(word.to_owned());
            hide_next = true;
            continue;
        }
        if hide_next {
            words.push(REDACTED.to_owned());
            hide_next = false;
            continue;
        }
        words.push(redact_word(word, &mut hide_next));
    }
    let indent_len = line.len() - line.trim_start().len();
    format!("{}{}", &line[..indent_len], words.join(" "))
}

/// Redacts one whitespace-free word. Sets `hide_next` when the word is a secret key whose value
/// follows as the next word (`password: hunter2`).
fn redact_word(word: &str, hide_next: &mut bool) -> String {
    if let Some(pos) = word.find(['=', ':']) {
        let (key, rest) = word.split_at(pos);
        if is_secret_key(key) {
            if rest.len() == 1 {
                *hide_next = true;
                return word.to_owned();
            }
            return format!("{key}{}{REDACTED}", &rest[..1]);
        }
    }
    if looks_like_token(word.trim_matches(|c: char| !c.is_ascii_alphanumeric())) {
        return REDACTED.to_owned();
    }
    redact_home(word)
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|k| key.contains(k))
}

fn has_sql_word(line: &str) -> bool {
    line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| SQL_WORDS.iter().any(|s| w.eq_ignore_ascii_case(s)))
}

/// A Databricks token (`dapi…`, `dkea…`, `dose…`), a JWT, or a long random-looking string.
fn looks_like_token(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let prefixed = ["dapi", "dkea", "dose", "dsapi"]
        .iter()
        .any(|p| lower.starts_with(p) && s.len() >= p.len() + 8);
    let jwt = s.starts_with("eyJ") && s.matches('.').count() >= 1;
    let long_mixed = s.len() >= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| c.is_ascii_alphabetic());
    prefixed || jwt || long_mixed
}

/// Replaces the user name in `/home/<user>`, `/Users/<user>` and `C:\Users\<user>` with `~`,
/// and `/root/` with `~/`.
fn redact_home(word: &str) -> String {
    let mut out = word.replace("/root/", "~/");
    for marker in ["/home/", "/Users/", "\\Users\\"] {
        while let Some(start) = out.find(marker) {
            let after = start + marker.len();
            let end = out[after..]
                .find(['/', '\\'])
                .map_or(out.len(), |i| after + i);
            // `C:\Users\bob` loses its drive letter too.
            let from = if marker.starts_with('\\')
                && start >= 2
                && out.as_bytes()[start - 1] == b':'
                && out.is_char_boundary(start - 2)
            {
                start - 2
            } else {
                start
            };
            out.replace_range(from..end, "~");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_name_keeps_the_class_only() {
        assert_eq!(
            error_name("NetworkError: connection to 10.0.0.1 refused"),
            "NetworkError"
        );
        assert_eq!(error_name("std::io::Error"), "std::io::Error");
        assert_eq!(error_name("  Timeout"), "Timeout");
        assert_eq!(error_name("'quoted'"), "UnknownError");
        assert_eq!(
            error_name("dapi0123456789abcdef0123456789abcdef"),
            "<redacted>"
        );
        assert_eq!(error_name(&"A".repeat(500)).len(), MAX_ERROR_NAME_BYTES);
    }

    #[test]
    fn stack_trace_redacts_each_kind_of_secret() {
        let trace = "at driver::open (/home/alice/src/lib.rs:10)\n\
                     token=dapiabcdef0123456789 password: hunter2\n\
                     Authorization: Bearer abc.def.ghi\n\
                     failed: SELECT * FROM accounts\n\
                     at C:\\Users\\bob\\app.exe\n\
                     eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig";
        let clean = stack_trace(trace);
        for secret in [
            "alice",
            "dapiabcdef",
            "hunter2",
            "abc.def.ghi",
            "accounts",
            "bob",
            "eyJ",
        ] {
            assert!(!clean.contains(secret), "{secret} leaked in {clean}");
        }
        assert!(
            clean.contains("at driver::open (~/src/lib.rs:10)"),
            "{clean}"
        );
        assert!(clean.contains("<redacted line>"));
    }

    #[test]
    fn stack_trace_is_bounded() {
        let long = "at frame::f\n".repeat(10_000);
        assert!(stack_trace(&long).len() <= MAX_STACK_TRACE_BYTES);
    }
}
