//! Everything printed goes through here: names and values from files (tensor names, metadata,
//! class names, paths) can hold ESC, OSC, BEL, CR, C1 controls or bidi overrides that would
//! drive the terminal or forge a `WARNING:` line. Text is escaped (`\x1b`, `\u{202e}`) and
//! each line is cut to a sane length; JSON gets the same characters as `\u00XX` escapes, so it
//! stays valid and equal in value. Names put into a line are escaped there too, line breaks
//! included (`sppnet::text::field`, `sppnet::text::path`), so a name cannot forge a line; this
//! module is the last line of defence for the rest.

use std::io::Write;

use sppnet::text::unsafe_char;

/// The longest line printed; the rest is replaced by a count.
pub const MAX_LINE: usize = 2000;

/// `s` with unsafe characters escaped (`\x1b`, `\u{9b}`) and every line cut to [`MAX_LINE`]
/// characters.
pub fn safe_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(1 << 20));
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut shown = 0;
        let mut chars = line.chars();
        for c in chars.by_ref() {
            if unsafe_char(c) {
                sppnet::text::escape_char(c, &mut out);
            } else {
                out.push(c);
            }
            shown += 1;
            if shown >= MAX_LINE {
                break;
            }
        }
        let rest = chars.count();
        if rest > 0 {
            out += &format!("… ({rest} more characters)");
        }
    }
    out
}

/// JSON text with the characters `serde_json` leaves raw (DEL, C1, bidi controls) escaped as
/// `\uXXXX`: still valid JSON with the same values.
pub fn safe_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if unsafe_char(c) && c != '\n' {
            out += &format!("\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn write(out: &mut dyn Write, text: &str) -> anyhow::Result<()> {
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`sppnet inspect … | head`) ends the output quietly.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Print human text on stdout, escaped.
pub fn print(text: &str) -> anyhow::Result<()> {
    write(&mut std::io::stdout().lock(), &safe_text(text))
}

/// Print JSON text on stdout (already serialised), with the leftover controls escaped.
pub fn print_json(text: &str) -> anyhow::Result<()> {
    write(&mut std::io::stdout().lock(), &safe_json(text))
}

/// Print one line on stderr, escaped and cut (a newline inside becomes a space).
pub fn note(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", safe_text(&line.replace(['\n', '\r'], " ")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_lines_cut() {
        assert_eq!(safe_text("a\x1b[31mb\x07"), "a\\x1b[31mb\\x07");
        assert_eq!(safe_text("x\rWARNING"), "x\\x0dWARNING");
        assert_eq!(safe_text("\u{9b}31m \u{202e}txt"), "\\x9b31m \\u{202e}txt");
        assert_eq!(safe_text("ok\nline\ttab"), "ok\nline\ttab");
        let long = "A".repeat(MAX_LINE + 10);
        assert!(safe_text(&long).ends_with("… (10 more characters)"));
        let json = serde_json::to_string("a\u{9b}b\u{202e}\x1b").unwrap();
        assert_eq!(safe_json(&json), "\"a\\u009bb\\u202e\\u001b\"");
        let back: String = serde_json::from_str(&safe_json(&json)).unwrap();
        assert_eq!(back, "a\u{9b}b\u{202e}\x1b");
    }
}
