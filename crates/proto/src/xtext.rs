//! xtext (RFC 3461 section 4): the encoding of ENVID, ORCPT and AUTH= values.
//!
//! ```text
//! xtext = *( xchar / hexchar )
//! xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except "+" and "="
//! hexchar = "+" 2(%x30-39 / %x41-46)   ; uppercase hex
//! ```

use std::borrow::Cow;

use crate::swar::{find_byte, HIGHS, ONES};

/// Decodes xtext. Returns `None` for a malformed value: a character outside `!`..`~`, a bare
/// `=`, or a `+` not followed by two uppercase hex digits. Decoded bytes that are not UTF-8
/// are refused too, since every value tern stores is text.
pub fn decode(s: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => {
                let hi = hex(*s.get(i + 1)?)?;
                let lo = hex(*s.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'=' => return None,
            c @ b'!'..=b'~' => {
                out.push(c);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// [`decode`] for a value that is already `&str`, as the command parser has it: validated
/// in one branch-free pass, borrowed as is when it holds no `+`, else rebuilt run by run. Only
/// a `+XX` that decodes to a non-ASCII byte goes through the byte decoder, which must then
/// check that the decoded bytes form UTF-8.
pub(crate) fn decode_str(s: &str) -> Option<Cow<'_, str>> {
    let b = s.as_bytes();
    let (bad, plus) = classify(b);
    if bad {
        return None;
    }
    if !plus {
        return Some(Cow::Borrowed(s));
    }
    // Every byte is ASCII now, so every index is a char boundary.
    let mut out = String::with_capacity(s.len());
    let mut run = 0;
    let mut p = find_byte(b, 0, b'+');
    while p < b.len() {
        out.push_str(&s[run..p]);
        let byte = hex(*b.get(p + 1)?)? << 4 | hex(*b.get(p + 2)?)?;
        if byte >= 0x80 {
            return decode(b).map(Cow::Owned);
        }
        out.push(char::from(byte));
        run = p + 3;
        p = find_byte(b, run, b'+');
    }
    out.push_str(&s[run..]);
    Some(Cow::Owned(out))
}

/// Whether `b` holds a byte that is no xtext character (outside `!`..`~`, or `=`), and
/// whether it holds a `+`. Eight bytes at a time (SWAR): the values are read on every MAIL
/// and RCPT that carries ENVID or ORCPT. A value shorter than a word takes the byte loop;
/// a longer one ends with the word of its last eight bytes, which may overlap the word
/// before: both answers are ORs over bytes, so reading a byte twice changes nothing.
#[inline(always)]
fn classify(b: &[u8]) -> (bool, bool) {
    if b.len() < 8 {
        let (mut bad, mut plus) = (false, false);
        for &c in b {
            bad |= (c.wrapping_sub(b'!') > b'~' - b'!') | (c == b'=');
            plus |= c == b'+';
        }
        return (bad, plus);
    }
    let (mut bad, mut plus) = (0u64, 0u64);
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let (x, p) = classify_word(w);
        bad |= x;
        plus |= p;
    }
    if !words.remainder().is_empty() {
        let (x, p) = classify_word(&b[b.len() - 8..]);
        bad |= x;
        plus |= p;
    }
    (bad != 0, plus != 0)
}

/// [`classify`] of exactly eight bytes, one flag per byte in its high bit. On the low seven
/// bits of a byte, adding `0x80 - lo` sets the high bit exactly when the byte is `>= lo`,
/// and adding `0x7f - hi` when it is `> hi`; no sum leaves its byte.
#[inline(always)]
fn classify_word(w: &[u8]) -> (u64, u64) {
    let mut word = [0u8; 8];
    word.copy_from_slice(w);
    let w = u64::from_le_bytes(word);
    let low = w & !HIGHS;
    let below = !(low + ONES * u64::from(0x80 - b'!')) & HIGHS;
    let above = (low + ONES * u64::from(0x7f - b'~')) & HIGHS;
    // A byte equal to `c` is a zero byte of `w ^ c`; a byte is nonzero exactly when its
    // low seven bits plus 0x7f, or its own high bit, set the high bit.
    let eq = |c: u8| {
        let t = w ^ (ONES * u64::from(c));
        !(((t & !HIGHS) + ONES * 0x7f) | t) & HIGHS
    };
    ((w & HIGHS) | below | above | eq(b'='), eq(b'+'))
}

/// Encodes text as xtext: `+`, `=`, controls, space and non-ASCII bytes become `+XX`.
pub fn encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push('+');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"QQQ1234", Some("QQQ1234")),
            (b"a+2Bb", Some("a+b")),
            (b"a+3Db", Some("a=b")),
            (b"rfc822;x+40y", Some("rfc822;x@y")),
            (b"+20", Some(" ")),
            (b"", Some("")),
            (b"a=b", None),
            (b"a+2b", None), // lowercase hex is not xtext
            (b"a+2", None),
            (b"a b", None),
            (b"+FF", None), // not UTF-8
            (b"+C3+A9", Some("\u{e9}")),
        ];
        for (input, want) in cases {
            assert_eq!(
                decode(input).as_deref(),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
            if let Ok(text) = std::str::from_utf8(input) {
                assert_eq!(decode_str(text).as_deref(), *want, "{text:?}");
            }
        }
        assert_eq!(encode("a+b=c d\u{e9}"), "a+2Bb+3Dc+20d+C3+A9");
    }

    proptest! {
        #[test]
        fn roundtrip(s in any::<String>()) {
            prop_assert_eq!(decode(encode(&s).as_bytes()), Some(s));
        }

        /// The `&str` decoder agrees with the byte decoder on any text, and on xtext.
        #[test]
        fn decode_str_same(s in any::<String>(), t in any::<String>()) {
            prop_assert_eq!(decode_str(&s).map(Cow::into_owned), decode(s.as_bytes()));
            let x = encode(&t);
            prop_assert_eq!(decode_str(&x).map(Cow::into_owned), decode(x.as_bytes()));
        }

        #[test]
        fn decode_str_same_ascii(s in "[!-~]{0,12}(\\+[0-9A-Fa-f]{0,2}[!-~]{0,5}){0,4}") {
            prop_assert_eq!(decode_str(&s).map(Cow::into_owned), decode(s.as_bytes()));
        }

        /// The word-at-a-time classifier agrees with a byte-by-byte one, at every length
        /// around the word size.
        #[test]
        fn classify_is_bytewise(b in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            // Mostly xtext, with the bytes at the edges of each rule mixed in.
            proptest::collection::vec(
                proptest::sample::select(vec![
                    b'a', b'a', b'a', b'a', b'Z', b'0', b'!', b'~', b'+', b'=', b'<', b'>',
                    b' ', 0x7f, 0x80, 0xa1, 0xbd, 0xab, 0xff, 0x00, 0x01, 0x20,
                ]),
                0..40,
            ),
        ]) {
            let bad = b.iter().any(|&c| !(b'!'..=b'~').contains(&c) || c == b'=');
            let plus = b.contains(&b'+');
            prop_assert_eq!(classify(&b), (bad, plus));
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&b);
        }
    }
}
