use super::*;

/// `Some((local, domain))` for a mailbox, `Some(("", ""))` for `<>` / `<Postmaster>`.
type Want = Option<(&'static str, &'static str)>;

fn table() -> Vec<(&'static [u8], Want, Want)> {
    // input, as reverse-path, as forward-path
    let m = |l, d| Some((l, d));
    let special = Some(("", ""));
    vec![
        (b"<a@b>", m("a", "b"), m("a", "b")),
        (
            b"<first.last@sub.example.com>",
            m("first.last", "sub.example.com"),
            m("first.last", "sub.example.com"),
        ),
        (
            b"<!#$%&'*+-/=?^_`{|}~@x>",
            m("!#$%&'*+-/=?^_`{|}~", "x"),
            m("!#$%&'*+-/=?^_`{|}~", "x"),
        ),
        (b"<\"a b\"@x>", m("\"a b\"", "x"), m("\"a b\"", "x")),
        (
            b"<\"a\\\"b\\\\\"@x>",
            m("\"a\\\"b\\\\\"", "x"),
            m("\"a\\\"b\\\\\"", "x"),
        ),
        (b"<\"\"@x>", m("\"\"", "x"), m("\"\"", "x")),
        (
            b"<a@[192.0.2.1]>",
            m("a", "[192.0.2.1]"),
            m("a", "[192.0.2.1]"),
        ),
        (
            b"<a@[IPv6:2001:db8::1]>",
            m("a", "[IPv6:2001:db8::1]"),
            m("a", "[IPv6:2001:db8::1]"),
        ),
        (
            b"<a@[ipv6:::ffff:192.0.2.1]>",
            m("a", "[ipv6:::ffff:192.0.2.1]"),
            m("a", "[ipv6:::ffff:192.0.2.1]"),
        ),
        (
            b"<a@[x-tag:any-content]>",
            m("a", "[x-tag:any-content]"),
            m("a", "[x-tag:any-content]"),
        ),
        (b"<@r1.example,@r2.example:a@b>", m("a", "b"), m("a", "b")),
        (
            b"<a@xn--bcher-kva.example>",
            m("a", "xn--bcher-kva.example"),
            m("a", "xn--bcher-kva.example"),
        ),
        (
            b"<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8>",
            m("\u{7528}\u{6237}", "\u{4f8b}\u{5b50}.\u{516c}\u{53f8}"),
            m("\u{7528}\u{6237}", "\u{4f8b}\u{5b50}.\u{516c}\u{53f8}"),
        ),
        (b"<>", special, None),
        (b"<Postmaster>", None, special),
        (b"<POSTMASTER>", None, special),
        (b"<@r.example:Postmaster>", None, None),
        (b"<postmasterx>", None, None),
        (b"a@b", None, None),
        (b"<a@b", None, None),
        (b"<a@b.>", None, None),
        (b"<a@.b>", None, None),
        (b"<a@b..c>", None, None),
        (b"<a@-b>", None, None),
        (b"<a@b->", None, None),
        (b"<a@b_c>", None, None),
        (b"<.a@b>", None, None),
        (b"<a.@b>", None, None),
        (b"<a..b@c>", None, None),
        // `-` is atext: next to a dot in a local part is fine, unlike in a domain.
        (b"<a-.b@c>", m("a-.b", "c"), m("a-.b", "c")),
        (b"<a.-b@c>", m("a.-b", "c"), m("a.-b", "c")),
        (b"<-a-@c>", m("-a-", "c"), m("-a-", "c")),
        (b"<a@b--c.d-e>", m("a", "b--c.d-e"), m("a", "b--c.d-e")),
        (b"<a@b-.c>", None, None),
        (b"<a@b.-c>", None, None),
        (b"<a@b.c.>", None, None),
        (b"<a@>", None, None),
        (b"<a@@b>", None, None),
        (b"<a b@c>", None, None),
        (b"<\"a@b>", None, None),
        (b"<\"a\x01\"@b>", None, None),
        (b"<\"a\\\x01\"@b>", None, None),
        (b"<a@[192.0.2.256]>", None, None),
        (b"<a@[192.0.2.1>", None, None),
        (b"<a@[IPv6:2001:db8:::1]>", None, None),
        (b"<a@[IPv6:]>", None, None),
        (b"<a@[tag-:x]>", None, None),
        (b"<a@[tag:]>", None, None),
        (b"<a@[tag:a b]>", None, None),
        (b"<@r.example:>", None, None),
        (b"<@r.example,a@b>", None, None),
        (b"<@:a@b>", None, None),
        (b"<a@b\xff>", None, None),
        (b"<\xc3@b>", None, None),
        (b"<a@b\xe4\xbe>", None, None),
    ]
}

fn show(m: Option<&Mailbox>) -> Option<(String, String)> {
    Some(m.map_or((String::new(), String::new()), |m| {
        (m.local().to_owned(), m.domain().to_owned())
    }))
}

fn owned(w: Want) -> Option<(String, String)> {
    w.map(|(l, d)| (l.to_owned(), d.to_owned()))
}

/// The byte-at-a-time domain scanner the word-at-a-time one must agree with.
fn domain_end_naive(s: &[u8], mut i: usize) -> Result<usize, PathError> {
    let mut prev = b'.';
    let mut bad = false;
    while i < s.len() && is(s[i], LDH_DOT) {
        let c = s[i];
        let edge = (c == b'.') | (c == b'-');
        bad |= ((prev == b'.') & edge) | ((prev == b'-') & (c == b'.'));
        prev = c;
        i += 1;
    }
    if bad | (prev == b'.') | (prev == b'-') {
        Err(PathError)
    } else {
        Ok(i)
    }
}

proptest::proptest! {
    #[test]
    fn domain_end_same_as_naive(
        s in proptest::collection::vec(
            proptest::prop_oneof![
                6 => proptest::sample::select(b"aZ09.-".to_vec()),
                1 => proptest::prelude::any::<u8>(),
            ],
            0..40,
        ),
        i in 0usize..8,
    ) {
        let i = i.min(s.len());
        proptest::prop_assert_eq!(domain_end(&s, i), domain_end_naive(&s, i));
    }
}

#[test]
fn ldh_word_every_byte() {
    // Each byte value in each position of a word, among valid neighbours.
    for pos in 0..8 {
        for b in 0..=255u8 {
            let mut bytes = *b"abcdefgh";
            bytes[pos] = b;
            let w = ldh_word(u64::from_le_bytes(bytes));
            for (j, &c) in bytes.iter().enumerate() {
                let bit = |m: u64| m >> (8 * j + 7) & 1 == 1;
                assert_eq!(bit(w.valid), is(c, LDH_DOT), "{c:#x} at {j}");
                assert_eq!(bit(w.dot), c == b'.', "{c:#x} at {j}");
                assert_eq!(bit(w.hyphen), c == b'-', "{c:#x} at {j}");
            }
        }
    }
}

#[test]
fn domain_end_table() {
    let cases: &[(&[u8], Result<usize, PathError>)] = &[
        (b"abcdefgh.ijklmnop>", Ok(17)),
        (b"abcdefg..ijklmnop>", Err(PathError)),
        (b"abcdefgh..ijklmno>", Err(PathError)),
        (b"abcdefg-.ijklmnop>", Err(PathError)),
        (b"abcdefgh-.ijklmno>", Err(PathError)),
        (b"abcdefg.-ijklmnop>", Err(PathError)),
        (b"abcdefgh.-ijklmno>", Err(PathError)),
        (b"abcdefg--hijklmno>", Ok(17)),
        (b"abcdefghijklmnop.", Err(PathError)),
        (b"abcdefghijklmnop-", Err(PathError)),
        (b"abcdefghijklmnop", Ok(16)),
        (b".bcdefghijklmnop", Err(PathError)),
        (b"-bcdefghijklmnop", Err(PathError)),
        (b"abcdefghijklmno/", Ok(15)),
        (b"client3.mail.example.net", Ok(24)),
    ];
    for (input, want) in cases {
        let shown = String::from_utf8_lossy(input);
        assert_eq!(domain_end(input, 0), *want, "{shown}");
        assert_eq!(domain_end_naive(input, 0), *want, "{shown}");
    }
}

#[test]
fn path_table() {
    for (input, reverse, forward) in table() {
        let shown = String::from_utf8_lossy(input);
        let got = parse_reverse_path(input).ok().and_then(|(p, rest)| {
            assert!(rest.is_empty(), "{shown}");
            show(p.mailbox())
        });
        assert_eq!(got, owned(reverse), "reverse {shown}");
        let got = parse_forward_path(input).ok().and_then(|(p, rest)| {
            assert!(rest.is_empty(), "{shown}");
            show(p.mailbox())
        });
        assert_eq!(got, owned(forward), "forward {shown}");
    }
}

#[test]
fn rest_starts_after_the_bracket() {
    let (p, rest) = parse_forward_path(b"<a@b> NOTIFY=NEVER").unwrap();
    assert_eq!(p.to_string(), "<a@b>");
    assert_eq!(rest, b" NOTIFY=NEVER");
    let (p, rest) = parse_reverse_path(b"<>x").unwrap();
    assert_eq!((p, rest), (ReversePath::Null, &b"x"[..]));
}

#[test]
fn length_limits() {
    let local = "l".repeat(MAX_LOCAL_PART);
    let label = "d".repeat(63);
    // 4 labels of 63 plus 3 dots = 255 octets, the most a domain may have.
    let domain = [label.as_str(); 4].join(".");
    assert_eq!(domain.len(), MAX_DOMAIN);
    let ok = format!("<{local}@{domain}>");
    assert!(parse_forward_path(ok.as_bytes()).is_ok());
    let long_local = format!("<{local}l@x>");
    assert_eq!(parse_forward_path(long_local.as_bytes()), Err(PathError));
    let long_domain = format!("<a@{domain}d>");
    assert_eq!(parse_reverse_path(long_domain.as_bytes()), Err(PathError));
    assert!(is_valid_domain(&domain));
    assert!(!is_valid_domain(&format!("{domain}d")));
}

#[test]
fn domain_and_literal_helpers() {
    let cases: &[(&str, bool, bool)] = &[
        ("example.com", true, false),
        ("localhost", true, false),
        ("a-b.c1", true, false),
        ("b\u{fc}cher.example", true, false),
        ("", false, false),
        ("a.", false, false),
        ("a_b", false, false),
        ("[192.0.2.1]", false, true),
        ("[IPv6:::1]", false, true),
        ("[1.2.3]", false, false),
        ("[192.0.2.1]x", false, false),
    ];
    for &(s, domain, literal) in cases {
        assert_eq!(is_valid_domain(s), domain, "{s}");
        assert_eq!(is_valid_address_literal(s), literal, "{s}");
    }
}

#[test]
fn mailbox_from_str_is_the_path_grammar_without_brackets() {
    let m: Mailbox = "\"x y\"@[192.0.2.1]".parse().unwrap();
    assert_eq!((m.local(), m.domain()), ("\"x y\"", "[192.0.2.1]"));
    assert!(!m.is_utf8());
    assert!("j\u{f6}rg@b.example".parse::<Mailbox>().unwrap().is_utf8());
    assert_eq!("a@b c".parse::<Mailbox>(), Err(PathError));
    assert_eq!("postmaster".parse::<Mailbox>(), Err(PathError));
}
