//! Builders shared by the unit tests.

use crate::id::MessageId;
use crate::record::{ClientInfo, Envelope, MessageMeta, Recipient};
use proptest::prelude::*;
use tern_proto::params::Orcpt;
use tern_proto::{
    BodyType, ForwardPath, MailParams, Mailbox, Notify, RcptParams, Ret, ReversePath,
};

/// A message id on shard 0, epoch 1: the unit tests' ids differ by sequence number only.
pub fn id(seq: u64) -> MessageId {
    MessageId {
        shard: 0,
        epoch: 1,
        seq,
    }
}

/// A fixed message with `n` recipients `r{i}@dest.e` (the bytes are spelled out in
/// record_tests.rs).
pub fn sample_meta(id: MessageId, n: u8) -> MessageMeta {
    MessageMeta {
        id,
        arrival: 1_700_000_000,
        client: ClientInfo {
            helo: "client.ex".into(),
            peer_ip: "192.0.2.1".into(),
            auth_user: None,
            tls: true,
        },
        envelope: Envelope {
            from: ReversePath::Mailbox(Mailbox::from_parts("sender", "origin.ex")),
            params: MailParams {
                body: Some(BodyType::EightBitMime),
                ..MailParams::default()
            },
            rcpts: (0..n)
                .map(|i| Recipient {
                    path: ForwardPath::Mailbox(Mailbox::from_parts(&format!("r{i}"), "dest.e")),
                    params: RcptParams {
                        notify: Some(Notify {
                            failure: true,
                            ..Notify::default()
                        }),
                        orcpt: None,
                    },
                })
                .collect(),
        },
    }
}

fn arb_mailbox() -> impl Strategy<Value = Mailbox> {
    ("[a-zA-Z0-9.\"é]{1,20}", "[a-z0-9.\\[\\]:]{1,30}")
        .prop_map(|(l, d)| Mailbox::from_parts(&l, &d))
}

fn arb_mail_params() -> impl Strategy<Value = MailParams> {
    (
        proptest::option::of(any::<u64>()),
        proptest::option::of(prop_oneof![
            Just(BodyType::SevenBit),
            Just(BodyType::EightBitMime),
            Just(BodyType::BinaryMime)
        ]),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        proptest::option::of(".{0,20}"),
        proptest::option::of(".{0,20}"),
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

fn arb_recipient() -> impl Strategy<Value = Recipient> {
    (
        proptest::option::of(arb_mailbox()),
        proptest::option::of(any::<[bool; 4]>()),
        proptest::option::of((".{0,10}", ".{0,30}")),
    )
        .prop_map(|(m, notify, orcpt)| Recipient {
            path: m.map_or(ForwardPath::Postmaster, ForwardPath::Mailbox),
            params: RcptParams {
                notify: notify.map(|[never, success, failure, delay]| Notify {
                    never,
                    success,
                    failure,
                    delay,
                }),
                orcpt: orcpt.map(|(addr_type, addr)| Orcpt { addr_type, addr }),
            },
        })
}

/// Any message metadata, UTF-8 and odd parameters included.
pub fn arb_meta() -> impl Strategy<Value = MessageMeta> {
    (
        any::<(u16, u64, u64)>(),
        any::<u64>(),
        (
            ".{0,30}",
            "[0-9a-f.:]{0,39}",
            proptest::option::of(".{0,20}"),
            any::<bool>(),
        ),
        proptest::option::of(arb_mailbox()),
        arb_mail_params(),
        proptest::collection::vec(arb_recipient(), 0..8),
    )
        .prop_map(
            |(
                (shard, epoch, seq),
                arrival,
                (helo, peer_ip, auth_user, tls),
                rp,
                params,
                recipients,
            )| {
                MessageMeta {
                    id: MessageId { shard, epoch, seq },
                    arrival,
                    client: ClientInfo {
                        helo,
                        peer_ip,
                        auth_user,
                        tls,
                    },
                    envelope: Envelope {
                        from: rp.map_or(ReversePath::Null, ReversePath::Mailbox),
                        params,
                        rcpts: recipients,
                    },
                }
            },
        )
}
