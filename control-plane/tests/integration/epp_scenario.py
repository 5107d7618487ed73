"""One registrar scenario over EPP, driven by epptools (a Python EPP client from PyPI).

The Rust test `epp::srrp_and_epp_leave_the_same_registry` runs the same scenario over SRRP on
a second registry and compares the two. Every step states the result code it expects; the
script exits non-zero at the first difference.

    python epp_scenario.py PORT CA_FILE
"""

import sys

from epptools import Client, Config

DIGEST = "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1E2B4A7B3E3F5A2D9C4B6E81"


def session(port, ca, clid, password):
    client = Client(Config(host="localhost", port=port, clid=clid, password=password, ca_file=ca))
    client.throw_on_failure(False)
    client.connect()
    expect(client.login(), 1000, "login " + clid)
    return client


def expect(response, code, what):
    if response.code() != code:
        sys.exit("%s: expected %d, got %d %s\n%s" % (what, code, response.code(), response.message(), response.raw))
    print("%s: %d" % (what, code))
    return response


def main():
    port, ca = int(sys.argv[1]), sys.argv[2]
    one = session(port, ca, "1001", "pass-one")
    expect(
        one.domain.create(
            "alpha.tld",
            years=2,
            nameservers=[
                {"name": "ns1.alpha.tld", "addresses": ["192.0.2.53", "2001:db8::53"]},
                {"name": "ns.example.net"},
            ],
            auth_info="Alpha-Code-1",
            sec_dns={"ds_data": [{"key_tag": 12345, "alg": 8, "digest_type": 2, "digest": DIGEST}]},
        ),
        1000,
        "create alpha.tld",
    )
    expect(
        one.domain.create("beta.tld", years=1, nameservers=[{"name": "ns1.example.com"}, {"name": "ns2.example.com"}]),
        1000,
        "create beta.tld",
    )
    expect(one.domain.check(["alpha.tld", "free.tld"]), 1000, "check")
    expect(
        one.domain.update(
            "alpha.tld",
            add={"ns": [{"name": "ns.example.org"}], "statuses": ["clientHold"]},
            remove={"ns": [{"name": "ns.example.net"}]},
        ),
        1000,
        "update alpha.tld: name servers, hold",
    )
    expect(
        one.domain.update(
            "alpha.tld",
            remove={"statuses": ["clientHold"]},
            sec_dns={
                "remove_all": True,
                "add": {"ds_data": [{"key_tag": 4242, "alg": 13, "digest_type": 2, "digest": DIGEST}]},
            },
        ),
        1000,
        "update alpha.tld: release, DS",
    )
    info = expect(one.domain.info("beta.tld"), 1000, "info beta.tld")
    expires = info.raw.split("<domain:exDate>")[1][:10]
    expect(one.domain.renew("beta.tld", expires, years=1), 1000, "renew beta.tld")
    expect(one.domain.renew("beta.tld", expires, years=1), 2306, "renew beta.tld again")
    expect(one.domain.create("beta.tld", years=1), 2302, "create beta.tld again")
    two = session(port, ca, "1002", "pass two = x")
    expect(two.domain.transfer("request", "alpha.tld", auth_info="wrong-code"), 2202, "transfer, wrong code")
    expect(two.domain.transfer("request", "alpha.tld", auth_info="Alpha-Code-1"), 1000, "transfer alpha.tld")
    expect(one.domain.delete("beta.tld"), 1000, "delete beta.tld")
    expect(one.domain.create("gamma.tld", years=1), 1000, "create gamma.tld")
    notice = expect(one.poll.request(), 1301, "poll: the transfer notice")
    if "alpha.tld" not in (notice.queue_message() or "") or notice.transfer_status() != "serverApproved":
        sys.exit("poll: not the notice of alpha.tld's transfer\n" + notice.raw)
    expect(one.poll.ack(notice.message_id()), 1000, "poll ack")
    expect(one.poll.request(), 1300, "poll: empty")
    for client in (one, two):
        expect(client.logout(), 1500, "logout")
        client.disconnect()


if __name__ == "__main__":
    main()
