//! Names from files made safe to print: a tensor name, a class name, a metadata value or a
//! file name can hold line breaks that would forge whole output lines (`FORGED 0.999 […]`,
//! `WARNING: …`), ESC/OSC/BEL/CR, C1 controls or bidi overrides that drive a terminal, or (for
//! paths) bytes that are not UTF-8. Every name is escaped *where it is put into a line*, so one
//! name is always one field of one line.
//!
//! | what | shown as |
//! |---|---|
//! | newline, CR, tab and every other C0/C1 control, DEL | `\n`, `\x0d`, `\x09`, `\x9b`, `\x7f` |
//! | bidi and Unicode line-breaking controls | `\u{202e}`, `\u{2028}` |
//! | a path byte that is not UTF-8 | `\xff` |
//!
//! A path whose bytes are not UTF-8 cannot be a JSON string; [`path_json`] gives its exact bytes
//! as base64 beside the shown text, so it round-trips.

use std::borrow::Cow;
use std::path::Path;

/// Characters that must not reach a terminal raw: C0 controls (but tab and newline), DEL, C1
/// controls, and the Unicode bidi and line-breaking controls. (Tab and newline are layout in
/// text sppnet writes itself; inside a name they are escaped too, see [`field`].)
pub fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `c` escaped as `\xNN` (below U+0100) or `\u{…}`.
pub fn escape_char(c: char, out: &mut String) {
    let code = c as u32;
    if c == '\n' {
        out.push_str("\\n");
    } else if code < 0x100 {
        out.push_str(&format!("\\x{code:02x}"));
    } else {
        out.push_str(&format!("\\u{{{code:x}}}"));
    }
}

/// A name as one field of one line: line breaks, tabs and every unsafe character escaped.
pub fn field(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c == '\n' || c == '\t' || unsafe_char(c);
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            escape_char(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path as one field of one line: as [`field`], and each byte that is not UTF-8 as `\xNN`.
pub fn path(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in p.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(&field(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// A path for JSON: its text (exact when the path is UTF-8; else with U+FFFD for the bytes
/// that are not) and, only when it is not UTF-8, its exact bytes in standard base64 — the
/// documented way to find the file again (`"path_bytes"` in `sppnet detect --json`).
pub fn path_json(p: &Path) -> (String, Option<String>) {
    use std::os::unix::ffi::OsStrExt;
    match p.to_str() {
        Some(s) => (s.to_string(), None),
        None => (
            p.to_string_lossy().into_owned(),
            Some(base64(p.as_os_str().as_bytes())),
        ),
    }
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn names_stay_one_field_of_one_line() {
        assert_eq!(field("person"), "person");
        assert_eq!(field("x\nFORGED 0.999 [1.0]"), "x\\nFORGED 0.999 [1.0]");
        assert_eq!(field("a\rWARNING\t\x1b[31m"), "a\\x0dWARNING\\x09\\x1b[31m");
        assert_eq!(field("\u{202e}txt\u{2028}"), "\\u{202e}txt\\u{2028}");
        let p = Path::new(std::ffi::OsStr::from_bytes(b"dir/bad\xff\xfe\n.png"));
        assert_eq!(path(p), "dir/bad\\xff\\xfe\\n.png");
        assert!(!path(p).contains('\n'));
    }

    #[test]
    fn json_paths_round_trip_through_base64() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"bad\xff\xfe.png"), "YmFk//4ucG5n");
        assert_eq!(path_json(Path::new("a.png")), ("a.png".into(), None));
        let p = Path::new(std::ffi::OsStr::from_bytes(b"bad\xff.png"));
        let (shown, bytes) = path_json(p);
        assert_eq!(shown, "bad\u{fffd}.png");
        assert_eq!(bytes.as_deref(), Some("YmFk/y5wbmc="));
    }
}
