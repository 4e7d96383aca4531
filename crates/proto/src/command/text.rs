//! UTF-8 checked once per command line instead of once per field.
//!
//! Most command lines are ASCII, and `std::str::from_utf8` on a whole line is one fast pass,
//! while calling it on each field (mailbox, ENVID, ORCPT, HELO name...) pays its setup cost
//! several times per line. [`Line`] keeps the `&str` view of the whole line when there is
//! one and hands out fields by slicing it.

/// A command line's bytes, with the same bytes as `&str` when the whole line is UTF-8.
#[derive(Clone, Copy)]
pub(crate) struct Line<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Line<'a> {
    /// Checks `bytes` once; fields are then taken with [`Line::text`].
    #[inline(always)]
    pub(crate) fn new(bytes: &'a [u8]) -> Line<'a> {
        Line {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    /// The line `line[start..]`, where `start` is where the text fields begin. The check
    /// may start up to seven bytes earlier, at an 8-byte-aligned address if one lies
    /// within `line`: `str::from_utf8` goes byte by byte until it reaches such an address
    /// (a loop whose exit mispredicts, at a different count on every line), then a word
    /// pair at a time. The extra bytes are the verb and keyword, ASCII in every caller;
    /// and were they not, [`Line::text`] would still answer exactly, by its fallback.
    #[inline(always)]
    pub(crate) fn suffix(line: &'a [u8], start: usize) -> Line<'a> {
        let back = (line.as_ptr() as usize).wrapping_add(start) % 8;
        let from = if back <= start { start - back } else { start };
        Line::new(&line[from..])
    }

    /// `part`, which must be a subslice of this line, as `&str`; `None` when `part` is not
    /// UTF-8. Exactly `std::str::from_utf8(part).ok()`: when the whole line is UTF-8, a
    /// subslice is UTF-8 if and only if both of its ends are char boundaries, which is what
    /// `str::get` checks (in O(1)); an empty part is UTF-8 wherever it is cut. A line that
    /// is not UTF-8 falls back to checking the part.
    #[inline(always)]
    pub(crate) fn text(&self, part: &'a [u8]) -> Option<&'a str> {
        match self.text {
            Some(_) if part.is_empty() => Some(""),
            Some(text) => {
                // The offset of `part` in the line: a subslice's address minus the line's.
                // For a slice from elsewhere this is garbage that `get` refuses or, at worst,
                // another part of the same line; never undefined behaviour.
                let start = (part.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
                debug_assert!(start <= self.bytes.len() && part.len() <= self.bytes.len() - start);
                text.get(start..)?.get(..part.len())
            }
            None => std::str::from_utf8(part).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        // "é" is C3 A9: a field cut inside it is not UTF-8.
        let line = "a\u{e9}b <x>".as_bytes();
        let l = Line::new(line);
        let cases: &[(usize, usize, Option<&str>)] = &[
            (0, 0, Some("")),
            (0, 1, Some("a")),
            (0, 2, None),
            (0, 3, Some("a\u{e9}")),
            (2, 4, None),
            (3, 4, Some("b")),
            (5, 8, Some("<x>")),
            (8, 8, Some("")),
            (2, 2, Some("")),
        ];
        for &(s, e, want) in cases {
            assert_eq!(l.text(&line[s..e]), want, "{s}..{e}");
        }
        let bad = b"a\xffb";
        let l = Line::new(bad);
        assert_eq!(l.text(&bad[..1]), Some("a"));
        assert_eq!(l.text(&bad[..2]), None);
        assert_eq!(l.text(&bad[2..]), Some("b"));
    }

    proptest! {
        /// A line checked from an earlier, aligned start answers as the plain one does,
        /// for every field after `start`, UTF-8 or not, wherever the line sits in memory.
        #[test]
        fn suffix_same_as_from_utf8(
            line in prop_oneof![
                any::<String>().prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            shift in 0usize..8,
            start in 0usize..64,
            a in 0usize..64,
            b in 0usize..64,
        ) {
            // The same bytes at eight different alignments.
            let mut buf = vec![0u8; shift];
            buf.extend_from_slice(&line);
            let line = &buf[shift..];
            let start = start.min(line.len());
            let (a, b) = (start + a.min(line.len() - start), start + b.min(line.len() - start));
            let (a, b) = (a.min(b), a.max(b));
            let part = &line[a..b];
            prop_assert_eq!(Line::suffix(line, start).text(part), std::str::from_utf8(part).ok());
        }

        /// The slicing shortcut agrees with checking the field itself, for every field of
        /// every line, UTF-8 or not.
        #[test]
        fn same_as_from_utf8(
            line in prop_oneof![
                any::<String>().prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            a in 0usize..64,
            b in 0usize..64,
        ) {
            let (a, b) = (a.min(line.len()), b.min(line.len()));
            let (a, b) = (a.min(b), a.max(b));
            let part = &line[a..b];
            prop_assert_eq!(Line::new(&line).text(part), std::str::from_utf8(part).ok());
        }
    }
}
