"""Who really sent it, from Python: signing on the builder, ``msg.verify()``, the bot's
``authenticated`` rules; and, against the test DNS (dnsmasq from ``scripts/mail-servers``),
agreement with an independent verifier (dkimpy) both ways and with ``mailwright verify --json``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import mailwright
from conftest import need_server

ROOT = Path(__file__).resolve().parents[2]
DKIM = Path(os.environ.get("MAILWRIGHT_TEST_DKIM", "/etc/mailwright-test/dkim"))
DNS = ("127.0.0.1", 5353)
# Lookups the records do not answer go to a port where nothing answers, quickly.
OFFLINE: Dict[str, Any] = {"resolvers": ["127.0.0.1:9"], "dns_timeout": 0.3}


def signed_pair(sign: bool = True, **extra: Any) -> Tuple[bytes, Dict[str, str]]:
    pem, record = mailwright.dkim_keygen("s1", "example.org")
    raw = mailwright.build(
        from_="Boss <boss@example.org>",
        to="bot@example.net",
        subject="invoice",
        text="Please print.\r\n",
        attachments=[("a.pdf", b"%PDF-1.4 x")],
        dkim_key=pem.encode() if sign else None,
        dkim_selector="s1" if sign else None,
        **extra,
    )
    records = {"s1._domainkey.example.org": record, "_dmarc.example.org": "v=DMARC1; p=reject; psd=n"}
    return raw, records


def test_signed_on_the_builder_and_verified_with_given_records() -> None:
    raw, records = signed_pair()
    r = mailwright.parse(raw).verify(records=records, **OFFLINE)
    assert r["authenticated_domain"] == "example.org"
    assert [(d["domain"], d["selector"], d["algorithm"], d["result"]) for d in r["dkim"]] == [
        ("example.org", "s1", "ed25519-sha256", "pass")
    ]
    assert r["dmarc"]["result"] == "pass" and r["dmarc"]["policy"] == "reject" and r["dmarc"]["aligned"] == "dkim"
    assert r["spf"] is None and r["arc"]["result"] == "none" and r["warnings"] == []
    forged, _ = signed_pair(sign=False)
    r = mailwright.parse(forged).verify(records=records, **OFFLINE)
    assert r["authenticated_domain"] is None and r["dkim"] == [] and r["dmarc"]["result"] == "fail"


def test_the_message_builder_signs_and_bad_keys_and_options_raise() -> None:
    pem, record = mailwright.dkim_keygen("s2", "example.org")
    b = mailwright.MessageBuilder().from_("a@example.org").to("b@example.net").subject("s").text("t")
    raw = b.dkim(pem.encode(), "s2").build()
    assert b"DKIM-Signature:" in raw and b"d=example.org" in raw and b"s=s2" in raw
    with pytest.raises(mailwright.AuthError):
        mailwright.MessageBuilder().dkim(b"not a key", "s2")
    with pytest.raises(mailwright.AuthError):
        mailwright.MessageBuilder().text("no From").dkim(pem.encode(), "s2").build()
    with pytest.raises(ValueError):
        mailwright.build(from_="a@example.org", to="b@example.net", dkim_selector="s2")
    msg = mailwright.parse(raw)
    with pytest.raises(mailwright.AuthError, match="unknown field"):
        msg.verify(resolver=["127.0.0.1"])
    with pytest.raises(mailwright.AuthError):
        msg.verify(resolvers=["not an address"])
    with pytest.raises(mailwright.AuthError):
        msg.verify(records={"s2._domainkey.example.org": "v=DKIM1; p=!!"}, **OFFLINE)
    no_dmarc = {"s2._domainkey.example.org": record, "_dmarc.example.org": "", "_dmarc.org": ""}
    r = msg.verify(records=no_dmarc, **OFFLINE)
    # No DMARC record (DMARC's tree walk asks _dmarc.org too): the aligned DKIM pass authenticates.
    assert r["authenticated_domain"] == "example.org" and r["dmarc"]["result"] == "none"


def test_the_bot_acts_only_on_authenticated_mail(tmp_path: Path) -> None:
    raw, records = signed_pair()
    forged, _ = signed_pair(sign=False)
    md = mailwright.Maildir(str(tmp_path / "Maildir"))
    md.deliver(raw)
    md.deliver(forged)
    bot = mailwright.Mailbot(
        tmp_path / "Maildir", state=tmp_path / "state", resolver=["127.0.0.1:9"], dns_records=records
    )
    seen: List[str] = []

    @bot.rule(from_=["*@example.org"], authenticated=True, attachment_type=["application/pdf"])
    def take(msg: mailwright.Message, parts: List[mailwright.Part]) -> None:
        seen.append(msg.subject or "")

    report = bot.run_once()
    assert (report.handled, report.unmatched, report.quarantined) == (2, 1, 0)
    assert seen == ["invoice"]
    assert json.loads(bot.rules_json())["rule"][0]["authenticated"] is True


def test_acting_on_from_alone_warns(tmp_path: Path) -> None:
    bot = mailwright.Mailbot(tmp_path / "Maildir", state=tmp_path / "state")
    bot.add_rule(mailwright.Rule(name="r", from_=["*@example.org"], actions=[{"type": "run", "command": ["true"]}]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bot.run_once()
    assert [w.category for w in caught] == [mailwright.RulesWarning]
    assert "authenticated = true" in str(caught[0].message)


# --- against the test DNS, with dkimpy ---------------------------------------------------------


def dkimpy() -> Any:
    try:
        import dkim  # dkimpy
        import dns.message
        import dns.query
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("dkimpy and dnspython are not installed; CI must not skip")
        pytest.skip("dkimpy and dnspython are not installed (pip install dkimpy pynacl dnspython)")
    return dkim


def txt(name: bytes, timeout: float = 5, **_: Any) -> Optional[bytes]:
    """dkimpy's DNS lookup, sent to the test DNS."""
    import dns.message
    import dns.query

    q = dns.message.make_query(name.decode(), "TXT")
    answer = dns.query.udp(q, DNS[0], port=DNS[1], timeout=timeout)
    for rrset in answer.answer:
        for rd in rrset:
            return b"".join(rd.strings)
    return None


def cases(dkim: Any) -> Dict[str, Tuple[bytes, Optional[str]]]:
    """Test messages → (bytes, the outcome both verifiers must give its one signature)."""
    rsa, ed, seed = (DKIM / "rsa.pem").read_bytes(), (DKIM / "ed.pem").read_bytes(), (DKIM / "ed.seed").read_bytes()

    def ours(key: bytes, selector: str, frm: str = "alice@signed.test") -> bytes:
        return mailwright.build(
            from_=frm, to="bob@example.test", subject="report", text="The report.\r\n", dkim_key=key, dkim_selector=selector
        )

    def theirs(selector: bytes, key: bytes, algo: bytes, length: bool = False) -> bytes:
        body = mailwright.build(from_="alice@signed.test", to="bob@example.test", subject="report", text="The report.\r\n")
        sig = dkim.sign(
            body,
            selector,
            b"signed.test",
            key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=algo,
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
            length=length,
        )
        return bytes(sig) + body

    def tamper(raw: bytes, old: bytes, new: bytes) -> bytes:
        assert old in raw
        return raw.replace(old, new, 1)

    ours_rsa, ours_ed = ours(rsa, "rsa"), ours(ed, "ed")
    theirs_rsa = theirs(b"rsa", rsa, b"rsa-sha256")
    head, body = ours_rsa.split(b"\r\n\r\n", 1)
    return {
        "ours rsa": (ours_rsa, "pass"),
        "ours ed25519": (ours_ed, "pass"),
        "theirs rsa": (theirs_rsa, "pass"),
        "theirs ed25519": (theirs(b"ed", seed, b"ed25519-sha256"), "pass"),
        "ours tampered body": (tamper(ours_ed, b"The report.", b"The r3port."), "fail"),
        "theirs tampered body": (tamper(theirs_rsa, b"The report.", b"The r3port."), "fail"),
        "ours added From": (b"From: mallory@signed.test\r\n" + ours_rsa, "fail"),
        "ours replayed From": (tamper(ours_ed, b"From: <alice@signed.test>", b"From: <boss@signed.test>"), "fail"),
        "ours wrong key": (ours(rsa, "wrong"), "fail"),
        "ours missing key": (ours(rsa, "nokey"), "permerror"),
        # dkimpy passes what l= covers; mailwright calls any l= signature neutral.
        "theirs l= with text added": (theirs(b"rsa", rsa, b"rsa-sha256", length=True) + b"Pay now.\r\n", None),
        "ours two From": (head + b"\r\nFrom: boss@example.test\r\n\r\n" + body, "fail"),
    }


def test_mailwright_and_dkimpy_agree_on_every_signature() -> None:
    need_server(*DNS, "test DNS (dnsmasq)")
    dkim = dkimpy()
    for name, (raw, want) in cases(dkim).items():
        theirs = bool(dkim.verify(raw, dnsfunc=txt))
        r = mailwright.parse(raw).verify(resolvers=["%s:%d" % DNS])
        [sig] = r["dkim"]
        if want is None:
            assert (sig["result"], sig["weak"], sig["body_length"] is not None) == ("neutral", True, True), name
            assert r["authenticated_domain"] is None, name
            continue
        assert sig["result"] == want, (name, r)
        assert theirs == (want == "pass"), (name, theirs, r)
        if name == "ours two From":
            assert r["dmarc"]["result"] == "permerror" and r["authenticated_domain"] is None, r
        else:
            assert r["authenticated_domain"] == ("signed.test" if want == "pass" else None), (name, r)


def mailwright_cli() -> Path:
    for build in ("debug", "release"):
        p = ROOT / "target" / build / "mailwright"
        if p.exists():
            return p
    if os.environ.get("CI") == "true":
        pytest.fail("no mailwright binary in target/; CI must not skip")
    pytest.skip("no mailwright binary in target/ (cargo build -p mailwright)")


def test_the_binding_returns_what_the_cli_prints(tmp_path: Path) -> None:
    need_server(*DNS, "test DNS (dnsmasq)")
    cli = mailwright_cli()
    dkim = dkimpy()
    for name, (raw, _) in cases(dkim).items():
        f = tmp_path / "m.eml"
        f.write_bytes(raw)
        args = ["--resolver", "%s:%d" % DNS, "--ip", "127.0.0.9", "--helo", "mail.signed.test", "--mail-from", "alice@signed.test"]
        out = subprocess.run([str(cli), "verify", "--json", *args, str(f)], capture_output=True, check=True).stdout
        mine = mailwright.parse(raw).verify(
            resolvers=["%s:%d" % DNS], ip="127.0.0.9", helo="mail.signed.test", mail_from="alice@signed.test"
        )
        assert json.loads(out) == mine, name
        assert mine["spf"] == {"result": "pass", "domain": "signed.test"}, name


def test_a_name_server_that_never_answers_is_temperror() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        raw = mailwright.build(
            from_="alice@signed.test",
            to="bob@example.test",
            text="x",
            dkim_key=(DKIM / "ed.pem").read_bytes() if (DKIM / "ed.pem").exists() else mailwright.dkim_keygen("ed", "signed.test")[0].encode(),
            dkim_selector="ed",
        )
        port = silent.getsockname()[1]
        r = mailwright.parse(raw).verify(resolvers=[f"127.0.0.1:{port}"], dns_timeout=0.3)
        assert [d["result"] for d in r["dkim"]] == ["temperror"], r
        assert r["dmarc"]["result"] == "temperror" and r["authenticated_domain"] is None, r
    finally:
        silent.close()

