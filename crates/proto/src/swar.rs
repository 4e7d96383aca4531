//! Eight bytes at a time in a `u64` (SWAR): the constants and the byte search shared by the
//! address, parameter and xtext scanners. Their values are short, so a plain word loop
//! beats `memchr`'s setup.

/// 0x01 in every byte.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// 0x80 in every byte: where the per-byte flags of a word live.
pub(crate) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The index of the first `c` in `s` from `from` on, or `s.len()`. Eight bytes at a time
/// while eight remain: a zero byte of `word ^ c's` is a `c`, and the lowest flagged byte of
/// the classic has-zero-byte test is exact (false flags only appear above a true one).
/// Always inlined, so that `c` is a constant in the loop.
#[inline(always)]
pub(crate) fn find_byte(s: &[u8], from: usize, c: u8) -> usize {
    let mut i = from;
    while let Some(chunk) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*chunk) ^ (ONES * u64::from(c));
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return i + (zero.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() && s[i] != c {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_table() {
        let cases: &[(&[u8], usize, u8, usize)] = &[
            (b"", 0, b' ', 0),
            (b" ", 0, b' ', 0),
            (b"abc", 0, b' ', 3),
            (b"abc d", 0, b' ', 3),
            (b"abcdefgh", 0, b' ', 8),
            (b"abcdefg ", 0, b' ', 7),
            (b"abcdefgh ", 0, b' ', 8),
            (b"abcdefghijklmnop q", 0, b' ', 16),
            (b"\xa0\x20", 0, b' ', 1),
            (b"\x21\x1f\x00\xff\xdf\x60\x40\x30 x", 0, b' ', 8),
            (b"a+b+c", 2, b'+', 3),
            (b"+", 1, b'+', 1),
        ];
        for &(input, from, c, want) in cases {
            assert_eq!(find_byte(input, from, c), want, "{input:?} from {from}");
        }
    }

    proptest::proptest! {
        #[test]
        fn find_byte_is_position(
            s in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![b' ', b'+', b'a', 0x2a, 0xab, 0xa0, 0x00]),
                    proptest::prelude::any::<u8>(),
                ],
                0..40,
            ),
            from in 0usize..40,
            c in proptest::sample::select(vec![b' ', b'+']),
        ) {
            let from = from.min(s.len());
            let want = s[from..].iter().position(|&b| b == c).map_or(s.len(), |p| from + p);
            proptest::prop_assert_eq!(find_byte(&s, from, c), want);
        }
    }
}
