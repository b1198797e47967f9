//! Python's decodings of the text opcodes of protocol 0: `S` (a quoted string literal,
//! `codecs.escape_decode`d) and `V` (`raw-unicode-escape`). Read as Python reads them, so that a
//! name written with escapes (`sys\u0074em`) is seen as what it is.

/// `codecs.escape_decode` of a quoted literal (`'…'` or `"…"`): the bytes it stands for.
pub(super) fn quoted_string(line: &[u8]) -> Result<Vec<u8>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = match line {
        [q, inner @ .., last] if (*q == b'\'' || *q == b'"') && last == q => inner,
        _ => return Err("STRING argument is not a quoted literal".into()),
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = inner.get(i) else {
            return Err("STRING ends with a backslash".into());
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'x' => {
                let hex = inner
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let v = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(v.ok_or("bad \\x escape in STRING")?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match inner.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            other => out.extend([b'\\', other]),
        }
    }
    Ok(out)
}

/// `raw-unicode-escape`: `\uXXXX` and `\UXXXXXXXX` are code points, every other byte is the
/// latin-1 character of that value.
pub(super) fn raw_unicode_escape(line: &[u8]) -> Result<String, String> {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        let digits = match (c, line.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            _ => {
                out.push(char::from(c));
                i += 1;
                continue;
            }
        };
        let hex = line
            .get(i + 2..i + 2 + digits)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .ok_or("bad \\u escape in UNICODE")?;
        out.push(hex);
        i += 2 + digits;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_decodings() {
        assert_eq!(raw_unicode_escape(br"sys\u0074em").unwrap(), "system");
        assert_eq!(raw_unicode_escape(b"caf\xe9").unwrap(), "café");
        assert_eq!(raw_unicode_escape(br"a\U0001F600").unwrap(), "a😀");
        assert_eq!(quoted_string(br"'o\x73\n\'s\157'").unwrap(), b"os\n's\x6f");
        assert_eq!(quoted_string(b"\"plain\"").unwrap(), b"plain");
        assert!(quoted_string(b"'unterminated").is_err());
    }
}
