//! The real `update-agent` binary against an upstream that holds the pinned tunnel key but not
//! the changeset signing key (a compromised relay, or a man in the middle past TLS): it sends
//! tampered, replayed and reordered changesets. The agent refuses each one, reports it
//! upstream, keeps serving its last good data, and applies the genuine changeset when it comes.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ring::signature::{Ed25519KeyPair, KeyPair};
use satellite_protocol::message::{Deframer, Message, SignedChangeset, SnapshotHeader};
use satellite_protocol::{keys, signature, tunnel};
use zonefiles::master::ParseOptions;
use zonefiles::{Class, Zone};

fn zone(serial: u32, extra: &str) -> Zone {
    let text = format!(
        "tld. 300 IN SOA a.nic.tld. h.tld. {serial} 2 3 4 5\ntld. 300 IN NS a.nic.tld.\n\
         a.nic.tld. 300 IN A 192.0.2.1\n{extra}"
    );
    let records =
        zonefiles::master::parse_bytes("t", text.as_bytes(), ParseOptions::default()).unwrap();
    Zone::from_records(None, Class::IN, records).0
}

struct Signer(Ed25519KeyPair);

impl Signer {
    fn changeset(&self, old: &Zone, new: &Zone) -> SignedChangeset {
        let changeset = zonefiles::diff(old, new).unwrap();
        let bytes = changeset.encode();
        let (from, to) = (changeset.from_serial(), changeset.to_serial());
        let record = b"sealed registry record".to_vec();
        SignedChangeset {
            zone: "tld".into(),
            from,
            to,
            committed: 0,
            key_id: signature::key_id(self.0.public_key().as_ref()),
            signature: self
                .0
                .sign(&signature::signed_message("tld", from, to, &bytes, &record))
                .as_ref()
                .to_vec(),
            bytes,
            record,
        }
    }

    fn snapshot(&self, zone: &Zone) -> (SnapshotHeader, Vec<u8>) {
        let (image, _) = zonefiles::image::compile(zone, |_| {}).unwrap();
        let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &image)
            .as_ref()
            .try_into()
            .unwrap();
        let serial = zone.serial().unwrap();
        let message = signature::signed_snapshot("tld", serial, image.len() as u64, 0, &digest);
        let header = SnapshotHeader {
            zone: "tld".into(),
            serial,
            image_len: image.len() as u64,
            whois_len: 0,
            digest,
            key_id: signature::key_id(self.0.public_key().as_ref()),
            signature: self.0.sign(&message).as_ref().to_vec(),
            offset: 0,
        };
        (header, image)
    }
}

struct Session {
    _connection: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    deframer: Deframer,
}

impl Session {
    async fn accept(endpoint: &quinn::Endpoint) -> (Session, Message) {
        let connection = endpoint.accept().await.unwrap().await.unwrap();
        let (send, recv) = connection.accept_bi().await.unwrap();
        let mut session = Session {
            _connection: connection,
            send,
            recv,
            deframer: Deframer::default(),
        };
        let hello = session.next().await.expect("HELLO");
        (session, hello)
    }

    async fn send(&mut self, message: Message) {
        self.send.write_all(&message.encode()).await.unwrap();
    }

    async fn next(&mut self) -> Option<Message> {
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(m) = self.deframer.next_message().unwrap() {
                return Some(m);
            }
            match tokio::time::timeout(Duration::from_secs(10), self.recv.read(&mut buffer)).await {
                Ok(Ok(Some(n))) => self.deframer.push(&buffer[..n]),
                _ => return None,
            }
        }
    }
}

fn serial_on_disk(dir: &std::path::Path) -> u32 {
    update_agent::satellite::serial_on_disk(dir)
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_replayed_and_reordered_changesets_are_refused_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let rng = ring::rand::SystemRandom::new();
    let signer = Signer(
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap(),
    );
    let upstream_key = keys::generate().unwrap();
    let agent_public =
        keys::write_new(&dir.path().join("node.key"), &dir.path().join("node.pub")).unwrap();
    let pins = Arc::new(tunnel::Pins::default());
    pins.replace(HashMap::from([(agent_public, "sat".to_string())]));
    let endpoint = quinn::Endpoint::server(
        tunnel::server_config(&upstream_key, pins).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("agent.toml"),
        format!(
            "id = \"sat\"\nupstream = \"{}\"\nupstream_key = \"{}\"\nsigning_keys = [\"{}\"]\n[[zone]]\norigin = \"tld\"\ndirectory = \"zones/tld\"\n",
            endpoint.local_addr().unwrap(),
            keys::public_text(&keys::public_of(&upstream_key).unwrap()),
            keys::public_text(signer.0.public_key().as_ref()),
        ),
    )
    .unwrap();
    let agent: Child = Command::new(env!("CARGO_BIN_EXE_update-agent"))
        .current_dir(dir.path())
        .args(["-c", "agent.toml"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Kill(agent);
    let zone_dir = dir.path().join("zones/tld");
    let (v1, v2, v3) = (
        zone(1, ""),
        zone(2, "a.tld. 300 IN NS ns.example.\n"),
        zone(3, "b.tld. 300 IN NS ns.example.\n"),
    );

    // Session 1: a snapshot at serial 1, acknowledged; then a tampered changeset.
    let (mut s, hello) = Session::accept(&endpoint).await;
    assert!(
        matches!(&hello, Message::Hello { zones, .. } if zones[0].serial.is_none()),
        "{hello:?}"
    );
    let (header, image) = signer.snapshot(&v1);
    s.send(Message::Snapshot(header)).await;
    s.send(Message::Chunk {
        zone: "tld".into(),
        offset: 0,
        bytes: image,
    })
    .await;
    assert_eq!(
        s.next().await,
        Some(Message::Ack {
            zone: "tld".into(),
            serial: 1
        })
    );
    let mut tampered = signer.changeset(&v1, &v2);
    tampered.bytes = signer
        .changeset(&v1, &zone(2, "evil.tld. 300 IN NS ns.evil.\n"))
        .bytes;
    s.send(Message::Changeset(tampered)).await;
    assert!(
        matches!(s.next().await, Some(Message::Refused { reason, from: 1, to: 2, .. }) if reason == "bad signature"),
        "a tampered changeset is reported"
    );
    assert_eq!(serial_on_disk(&zone_dir), 1, "nothing of it was applied");

    // The agent reconnects by itself: the same changeset with another registry record (which
    // a recovery would replay into the registry) is refused as well.
    let (mut s, _) = Session::accept(&endpoint).await;
    let mut swapped = signer.changeset(&v1, &v2);
    swapped.record = b"forged registry rows".to_vec();
    s.send(Message::Changeset(swapped)).await;
    assert!(
        matches!(s.next().await, Some(Message::Refused { reason, from: 1, to: 2, .. }) if reason == "bad signature"),
        "a changeset with a swapped record is reported"
    );
    assert_eq!(serial_on_disk(&zone_dir), 1, "nothing of it was applied");

    // Session 2 (the agent reconnects by itself): a replay, then one out of order.
    let (mut s, hello) = Session::accept(&endpoint).await;
    assert!(
        matches!(&hello, Message::Hello { zones, .. } if zones[0].serial == Some(1)),
        "{hello:?}"
    );
    s.send(Message::Changeset(signer.changeset(&zone(0, ""), &v1)))
        .await;
    assert!(
        matches!(s.next().await, Some(Message::Refused { reason, .. }) if reason.starts_with("replayed"))
    );
    s.send(Message::Changeset(signer.changeset(&v2, &v3))).await;
    assert!(
        matches!(
            s.next().await,
            Some(Message::Refused { from: 2, to: 3, .. })
        ),
        "a gap is reported"
    );
    assert_eq!(serial_on_disk(&zone_dir), 1);

    // Session 3: the genuine changesets, in order; applied together or one by one, the
    // acknowledgements end at serial 3.
    let (mut s, _) = Session::accept(&endpoint).await;
    s.send(Message::Changeset(signer.changeset(&v1, &v2))).await;
    s.send(Message::Changeset(signer.changeset(&v2, &v3))).await;
    loop {
        match s.next().await {
            Some(Message::Ack { serial: 3, .. }) => break,
            Some(Message::Ack { serial: 2, .. }) => {}
            other => panic!("expected acknowledgements up to 3, got {other:?}"),
        }
    }
    assert_eq!(serial_on_disk(&zone_dir), 3);
}
