//! Properties of the command grammar: no input makes the parser panic, generated valid
//! MAIL/RCPT lines parse to exactly what was generated, and a parsed path prints to text
//! that parses back to the same path (what the queue and the outbound client rely on when
//! they pass an address on).

use proptest::prelude::*;
use tern_proto::address::{parse_forward_path, parse_reverse_path};
use tern_proto::params::{Orcpt, Ret};
use tern_proto::{xtext, ReversePath};
use tern_proto::{BodyType, Command, ForwardPath, MailParams, Mailbox, Notify, RcptParams};

const ATEXT: &str = "abcxyzABCXYZ0189!#$%&'*+-/=?^_`{|}~";

fn atom() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ATEXT.as_bytes().to_vec()), 1..10)
        .prop_map(|v| String::from_utf8(v).unwrap_or_default())
}

fn dot_atom() -> impl Strategy<Value = String> {
    proptest::collection::vec(atom(), 1..4)
        .prop_map(|v| v.join("."))
        .prop_filter("local part at most 64 octets", |s| s.len() <= 64)
}

fn label() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?"
}

fn domain() -> impl Strategy<Value = String> {
    proptest::collection::vec(label(), 1..5).prop_map(|v| v.join("."))
}

fn quoted() -> impl Strategy<Value = String> {
    // qtextSMTP and quoted-pairs, at most 64 octets with the quotes.
    "\"([ !#-\\[\\]-~]|\\\\[ -~]){0,30}\"".prop_map(String::from)
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(|a| format!("[{a}]")),
        any::<std::net::Ipv6Addr>().prop_map(|a| format!("[IPv6:{a}]")),
        "[a-z0-9]{1,5}:[!-Z^-~]{1,10}".prop_map(|s| format!("[{s}]")),
    ]
}

fn utf8_local() -> impl Strategy<Value = String> {
    "[a-z\u{e0}-\u{ff}\u{4e00}-\u{4e10}]{1,15}"
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    let local = prop_oneof![4 => dot_atom(), 1 => quoted(), 1 => utf8_local()];
    let dom = prop_oneof![4 => domain(), 1 => literal()];
    (local, dom).prop_map(|(l, d)| Mailbox::from_parts(&l, &d))
}

fn source_route() -> impl Strategy<Value = String> {
    proptest::option::of(proptest::collection::vec(domain(), 1..3)).prop_map(|r| match r {
        None => String::new(),
        Some(hops) => {
            let hops: Vec<String> = hops.iter().map(|h| format!("@{h}")).collect();
            format!("{}:", hops.join(","))
        }
    })
}

fn xtext_value(max: usize) -> impl Strategy<Value = String> {
    any::<String>().prop_filter("fits once encoded", move |s| {
        !s.is_empty() && xtext::encode(s).len() <= max
    })
}

fn mail_params() -> impl Strategy<Value = MailParams> {
    let body = proptest::option::of(prop_oneof![
        Just(BodyType::SevenBit),
        Just(BodyType::EightBitMime),
        Just(BodyType::BinaryMime)
    ]);
    let ret = proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]);
    (
        proptest::option::of(any::<u64>()),
        body,
        any::<bool>(),
        ret,
        proptest::option::of(xtext_value(100)),
        proptest::option::of(prop_oneof![Just("<>".to_owned()), xtext_value(200)]),
    )
        .prop_map(|(size, body, smtputf8, ret, envid, auth)| MailParams {
            size,
            body,
            smtputf8,
            ret,
            envid,
            auth,
        })
}

fn rcpt_params() -> impl Strategy<Value = RcptParams> {
    let notify = prop_oneof![
        Just(Notify {
            never: true,
            ..Notify::default()
        }),
        (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_filter("at least one", |(a, b, c)| *a || *b || *c)
            .prop_map(|(success, failure, delay)| Notify {
                never: false,
                success,
                failure,
                delay
            }),
    ];
    let orcpt = ("[a-zA-Z0-9-]{1,10}", xtext_value(400))
        .prop_map(|(addr_type, addr)| Orcpt { addr_type, addr });
    (proptest::option::of(notify), proptest::option::of(orcpt))
        .prop_map(|(notify, orcpt)| RcptParams { notify, orcpt })
}

/// Renders MAIL parameters in a shuffled order with random keyword case.
fn mail_param_words(p: &MailParams) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(s) = p.size {
        w.push(format!("SIZE={s}"));
    }
    if let Some(b) = p.body {
        let v = match b {
            BodyType::SevenBit => "7BIT",
            BodyType::EightBitMime => "8bitmime",
            BodyType::BinaryMime => "BinaryMIME",
        };
        w.push(format!("body={v}"));
    }
    if p.smtputf8 {
        w.push("SMTPUTF8".to_owned());
    }
    if let Some(r) = p.ret {
        w.push(format!(
            "Ret={}",
            if r == Ret::Full { "FULL" } else { "hdrs" }
        ));
    }
    if let Some(e) = &p.envid {
        w.push(format!("ENVID={}", xtext::encode(e)));
    }
    if let Some(a) = &p.auth {
        let v = if a == "<>" {
            a.clone()
        } else {
            xtext::encode(a)
        };
        w.push(format!("AUTH={v}"));
    }
    w
}

fn rcpt_param_words(p: &RcptParams) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(n) = p.notify {
        let mut v = Vec::new();
        if n.never {
            v.push("NEVER");
        }
        if n.success {
            v.push("SUCCESS");
        }
        if n.failure {
            v.push("failure");
        }
        if n.delay {
            v.push("Delay");
        }
        w.push(format!("NOTIFY={}", v.join(",")));
    }
    if let Some(o) = &p.orcpt {
        w.push(format!("orcpt={};{}", o.addr_type, xtext::encode(&o.addr)));
    }
    w
}

fn line(verb: &str, path: &str, words: &[String], seps: &[usize]) -> Vec<u8> {
    let mut l = format!("{verb}{path}");
    for (i, word) in words.iter().enumerate() {
        l.push_str(&" ".repeat(seps.get(i).copied().unwrap_or(1)));
        l.push_str(word);
    }
    l.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Command::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_past_the_verb(
        verb in proptest::sample::select(vec![
            "MAIL FROM:<", "RCPT TO:<", "MAIL FROM:<a@b> ", "RCPT TO:<a@b> ", "EHLO ",
            "BDAT ", "AUTH ", "ETRN ", "ATRN ", "RCPT TO:<@", "MAIL FROM:<\"", "RCPT TO:<a@[",
        ]),
        tail in proptest::collection::vec(
            prop_oneof![any::<u8>(), proptest::sample::select(b"<>@.:,[]\"\\ =+;-".to_vec())],
            0..120,
        ),
    ) {
        let mut l = verb.as_bytes().to_vec();
        l.extend_from_slice(&tail);
        let _ = Command::parse(&l);
        let _ = parse_reverse_path(&l[verb.find('<').unwrap_or(0)..]);
        let _ = parse_forward_path(&l[verb.find('<').unwrap_or(0)..]);
    }

    #[test]
    fn generated_mail_parses_to_what_was_generated(
        from in proptest::option::of(mailbox()),
        route in source_route(),
        params in mail_params(),
        seps in proptest::collection::vec(1..3usize, 6),
        space_after_colon in any::<bool>(),
        shuffle in any::<proptest::sample::Index>(),
    ) {
        let path = match &from {
            Some(m) => format!("<{route}{m}>"),
            None => "<>".to_owned(),
        };
        let mut words = mail_param_words(&params);
        if !words.is_empty() {
            let k = shuffle.index(words.len());
            words.rotate_left(k);
        }
        let verb = if space_after_colon { "mail from: " } else { "MAIL FROM:" };
        let l = line(verb, &path, &words, &seps);
        let want = Command::Mail {
            from: from.map_or(ReversePath::Null, ReversePath::Mailbox),
            params,
        };
        prop_assert_eq!(Command::parse(&l), Ok(want), "{}", String::from_utf8_lossy(&l));
    }

    #[test]
    fn generated_rcpt_parses_to_what_was_generated(
        to in mailbox(),
        route in source_route(),
        params in rcpt_params(),
        seps in proptest::collection::vec(1..3usize, 2),
    ) {
        let path = format!("<{route}{to}>");
        let l = line("RCPT TO:", &path, &rcpt_param_words(&params), &seps);
        let want = Command::Rcpt { to: ForwardPath::Mailbox(to), params };
        prop_assert_eq!(Command::parse(&l), Ok(want), "{}", String::from_utf8_lossy(&l));
    }

    #[test]
    fn display_of_a_parsed_path_reparses_to_it(m in mailbox(), route in source_route()) {
        let text = format!("<{route}{m}>");
        let (fwd, rest) = parse_forward_path(text.as_bytes()).map_err(|e| {
            TestCaseError::fail(format!("{text}: {e}"))
        })?;
        prop_assert!(rest.is_empty());
        let shown = fwd.to_string();
        prop_assert_eq!(parse_forward_path(shown.as_bytes()), Ok((fwd.clone(), &b""[..])));
        let (rev, _) = parse_reverse_path(text.as_bytes()).map_err(|e| {
            TestCaseError::fail(format!("{text}: {e}"))
        })?;
        let shown = rev.to_string();
        prop_assert_eq!(parse_reverse_path(shown.as_bytes()), Ok((rev, &b""[..])));
    }
}
