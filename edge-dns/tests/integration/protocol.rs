//! Protocol behaviour of the answer engine: malformed input, opcodes, classes, EDNS,
//! truncation, referrals and server identification.

use edge_dns::engine::{self, Config, Transport, Zones};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType as HickoryType;
use hickory_proto::rr::rdata::opt::EdnsOption;

use crate::support::{peer, query, with_opt};

fn zones() -> Zones {
    let mut text = String::from(
        "tld. 3600 IN SOA a.nic.tld. h.nic.tld. 7 1800 900 604800 300\n\
         tld. 3600 IN NS a.nic.tld.\n\
         a.nic.tld. 3600 IN A 192.0.2.53\n\
         example.tld. 86400 IN NS ns1.example.tld.\n\
         example.tld. 86400 IN NS ns.provider.net.\n\
         ns1.example.tld. 86400 IN A 198.51.100.1\n",
    );
    for i in 0..40 {
        text.push_str(&format!(
            "big.tld. 60 IN TXT \"record number {i} padded to make the set large\"\n"
        ));
    }
    crate::support::zones(text.as_bytes())
}

fn ask(msg: &[u8], config: &Config, transport: Transport) -> Option<Vec<u8>> {
    let mut out = vec![0u8; 65535];
    engine::answer(msg, &zones(), config, &peer(transport), &mut out).map(|len| out[..len].to_vec())
}

fn parse(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).expect("responses parse")
}

#[test]
fn no_answer_to_runts_and_responses() {
    let config = Config::default();
    assert!(ask(&[0u8; 11], &config, Transport::Udp).is_none());
    let mut response = query(7, "x.tld.", 1);
    response[2] |= 0x80;
    assert!(ask(&response, &config, Transport::Udp).is_none());
}

#[test]
fn malformed_questions_get_formerr_with_the_id() {
    let config = Config::default();
    let mut two = query(0x1234, "x.tld.", 1);
    two[5] = 2;
    let mut cut = query(0x1234, "x.tld.", 1);
    cut.truncate(cut.len() - 3);
    let mut pointer = query(0x1234, "x.tld.", 1);
    pointer[12] = 0xC0;
    for bad in [two, cut, pointer] {
        let response = parse(&ask(&bad, &config, Transport::Udp).unwrap());
        assert_eq!(response.metadata.id, 0x1234);
        assert_eq!(response.metadata.response_code, ResponseCode::FormErr);
        assert!(response.queries.is_empty());
    }
}

#[test]
fn other_opcodes_are_not_implemented_and_other_zones_refused() {
    let config = Config::default();
    let mut update = query(1, "tld.", 6);
    update[2] = 5 << 3;
    let response = parse(&ask(&update, &config, Transport::Udp).unwrap());
    assert_eq!(response.metadata.response_code, ResponseCode::NotImp);
    let response = parse(&ask(&query(1, "example.com.", 1), &config, Transport::Udp).unwrap());
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);
    assert!(!response.metadata.authoritative);
}

#[test]
fn referral_carries_ns_and_glue_without_aa() {
    let response = parse(
        &ask(
            &query(1, "www.example.tld.", 1),
            &Config::default(),
            Transport::Udp,
        )
        .unwrap(),
    );
    assert!(!response.metadata.authoritative);
    assert!(response.answers.is_empty());
    assert_eq!(response.authorities.len(), 2);
    assert_eq!(response.additionals.len(), 1);
    assert_eq!(response.additionals[0].record_type(), HickoryType::A);
}

#[test]
fn negative_answers_carry_the_soa_with_the_negative_ttl() {
    let response = parse(
        &ask(
            &query(1, "nope.tld.", 1),
            &Config::default(),
            Transport::Udp,
        )
        .unwrap(),
    );
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    assert!(response.metadata.authoritative);
    assert_eq!(response.authorities[0].ttl, 300);
}

#[test]
fn large_answers_truncate_whole_and_keep_the_opt_record() {
    let config = Config::default();
    let plain = parse(&ask(&query(1, "big.tld.", 16), &config, Transport::Udp).unwrap());
    assert!(plain.metadata.truncation);
    assert!(plain.answers.is_empty());
    let edns = with_opt(query(1, "big.tld.", 16), 1232, 0, &[]);
    let bytes = ask(&edns, &config, Transport::Udp).unwrap();
    assert!(bytes.len() <= 1232);
    let response = parse(&bytes);
    assert!(response.metadata.truncation);
    assert!(response.edns.is_some());
    let tcp = parse(&ask(&query(1, "big.tld.", 16), &config, Transport::Tcp).unwrap());
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 40);
}

#[test]
fn edns_version_one_gets_badvers() {
    let bytes = ask(
        &with_opt(query(1, "tld.", 6), 1232, 1, &[]),
        &Config::default(),
        Transport::Udp,
    )
    .unwrap();
    let response = parse(&bytes);
    // BADVERS and BADSIG share the value 16 (RFC 6891 §9, RFC 8945).
    assert_eq!(u16::from(response.metadata.response_code), 16);
}

#[test]
fn operators_can_tell_which_server_answered() {
    let config = Config {
        identity: Some(b"sat-ams-1".to_vec()),
        ..Config::default()
    };
    let nsid = with_opt(query(1, "tld.", 6), 1232, 0, &[0, 3, 0, 0]);
    let bytes = ask(&nsid, &config, Transport::Udp).unwrap();
    assert!(
        bytes.windows(9).any(|w| w == b"sat-ams-1"),
        "NSID option carries the identity"
    );
    let mut chaos = query(1, "id.server.", 16);
    let len = chaos.len();
    chaos[len - 1] = 3;
    let response = parse(&ask(&chaos, &config, Transport::Udp).unwrap());
    assert_eq!(response.answers.len(), 1);
    let version = {
        let mut q = query(1, "version.bind.", 16);
        let len = q.len();
        q[len - 1] = 3;
        q
    };
    let response = parse(&ask(&version, &config, Transport::Udp).unwrap());
    assert_eq!(response.metadata.response_code, ResponseCode::Refused);
}

/// The COOKIE option (code 10) of a response, if any.
fn response_cookie(bytes: &[u8]) -> Option<Vec<u8>> {
    let response = parse(bytes);
    let edns = response.edns?;
    edns.options()
        .as_ref()
        .iter()
        .find_map(|(_, option)| match option {
            EdnsOption::Unknown(10, data) => Some(data.clone()),
            _ => None,
        })
}

fn cookie_config() -> Config {
    Config {
        cookies: Some(engine::CookieSecrets {
            current: [5; 16],
            previous: None,
        }),
        ..Config::default()
    }
}

#[test]
fn a_client_cookie_gets_a_server_cookie_that_is_then_kept() {
    let config = cookie_config();
    let client = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
    let bytes = ask(
        &with_opt(query(1, "tld.", 6), 1232, 0, &client),
        &config,
        Transport::Udp,
    )
    .unwrap();
    let response = parse(&bytes);
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert_eq!(response.answers.len(), 1, "the query is answered as well");
    let cookie = response_cookie(&bytes).expect("a cookie in the answer");
    assert_eq!(cookie.len(), 24);
    assert_eq!(cookie[..8], client[4..]);
    assert_eq!(cookie[8], 1, "RFC 9018 version 1");

    // Sent back, a valid and recent server cookie is returned unchanged.
    let mut option = vec![0, 10, 0, 24];
    option.extend_from_slice(&cookie);
    let again = ask(
        &with_opt(query(2, "tld.", 6), 1232, 0, &option),
        &config,
        Transport::Udp,
    )
    .unwrap();
    assert_eq!(response_cookie(&again).unwrap(), cookie);

    // A server cookie that is not ours (another secret): answered, with a new one of ours.
    let mut forged = option.clone();
    forged[20] ^= 0xFF;
    let answer = ask(
        &with_opt(query(3, "tld.", 6), 1232, 0, &forged),
        &config,
        Transport::Udp,
    )
    .unwrap();
    assert_eq!(parse(&answer).answers.len(), 1);
    assert_eq!(response_cookie(&answer).unwrap(), cookie);
}

#[test]
fn malformed_cookies_get_formerr() {
    let config = cookie_config();
    for len in [0u8, 7, 9, 15, 41] {
        let mut option = vec![0, 10, 0, len];
        option.extend(std::iter::repeat_n(7, usize::from(len)));
        let bytes = ask(
            &with_opt(query(1, "tld.", 6), 1232, 0, &option),
            &config,
            Transport::Udp,
        )
        .unwrap();
        assert_eq!(
            parse(&bytes).metadata.response_code,
            ResponseCode::FormErr,
            "a cookie of {len} bytes"
        );
    }
}

#[test]
fn a_query_without_a_question_may_only_ask_for_a_cookie() {
    let config = cookie_config();
    let mut bare = query(1, "tld.", 6);
    bare.truncate(12);
    bare[5] = 0; // QDCOUNT 0
    let with_cookie = with_opt(
        bare.clone(),
        1232,
        0,
        &[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8],
    );
    let bytes = ask(&with_cookie, &config, Transport::Udp).unwrap();
    let response = parse(&bytes);
    assert_eq!(response.metadata.response_code, ResponseCode::NoError);
    assert!(response.queries.is_empty() && response.answers.is_empty());
    assert_eq!(response_cookie(&bytes).unwrap().len(), 24);

    let without = with_opt(bare, 1232, 0, &[]);
    let response = parse(&ask(&without, &config, Transport::Udp).unwrap());
    assert_eq!(response.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn cookies_are_ignored_when_turned_off() {
    let option = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
    let query = with_opt(query(1, "tld.", 6), 1232, 0, &option);
    let bytes = ask(&query, &Config::default(), Transport::Udp).unwrap();
    assert_eq!(response_cookie(&bytes), None);
}

#[test]
fn requests_are_routed_by_kind() {
    use edge_dns::engine::{Kind, classify};
    let plain = query(1, "www.example.tld.", 1);
    assert_eq!(classify(&plain), Kind::Query);
    assert_eq!(
        classify(&with_opt(plain.clone(), 1232, 0, &[])),
        Kind::Query
    );
    assert_eq!(classify(&query(1, "tld.", 252)), Kind::Transfer);
    assert_eq!(
        classify(&with_opt(query(1, "tld.", 251), 1232, 0, &[])),
        Kind::Transfer
    );
    let mut notify = query(1, "tld.", 6);
    notify[2] = 0x24; // opcode NOTIFY, AA
    assert_eq!(classify(&notify), Kind::Notify);
    // Any record typed TSIG at the end of the additional section makes it a signed request.
    let mut signed = with_opt(plain, 1232, 0, &[]);
    signed.extend_from_slice(b"\x01k\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x00");
    signed[11] += 1;
    assert_eq!(classify(&signed), Kind::Signed);
    let mut only_tsig = query(1, "tld.", 252);
    only_tsig.extend_from_slice(b"\x01k\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x00");
    only_tsig[11] = 1;
    assert_eq!(classify(&only_tsig), Kind::Signed);
    assert_eq!(classify(&[0u8; 5]), Kind::Query);
}
