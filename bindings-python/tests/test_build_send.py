"""Building, local delivery, mailboxes and the outbox; SMTP, MX and IMAP against real servers."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

import mailwright
from conftest import CA, need_server


def test_build_round_trip_is_byte_exact(tmp_path: Path) -> None:
    pdf = bytes(range(256)) * 400
    f = tmp_path / "Résumé 季度.pdf"
    f.write_bytes(b"%PDF-1.4\n" + pdf)
    raw = mailwright.build(
        from_="Jane <jane@example.org>",
        to=["bot@example.org"],
        bcc="hidden@example.org",
        subject="Report ✓",
        text="Please print.\n",
        attachments=[f, ("data.bin", pdf)],
    )
    msg = mailwright.parse(raw)
    assert msg.subject == "Report ✓" and b"hidden" not in raw
    got = {a.filename: bytes(a.content) for a in msg.attachments}
    assert got == {"Résumé 季度.pdf": b"%PDF-1.4\n" + pdf, "data.bin": pdf}
    b = mailwright.MessageBuilder().from_("a@example.org").to("b@example.org").bcc("c@example.org")
    assert b.envelope() == ("a@example.org", ["b@example.org", "c@example.org"])


def test_injection_and_bad_addresses_are_build_errors() -> None:
    with pytest.raises(mailwright.BuildError):
        mailwright.build(from_="a@example.org", to="b@example.org", subject="x\r\nBcc: evil@example.org")
    with pytest.raises(mailwright.BuildError):
        mailwright.build(from_="a@example.org", to="not an address")
    with pytest.raises(ValueError):
        mailwright.send(b"Subject: x\r\n\r\n", maildir="/tmp/x", mbox="/tmp/y")


def test_maildir_mbox_and_outbox(tmp_path: Path) -> None:
    raw = mailwright.build(from_="a@example.org", to="b@example.org", subject="s", text="From here\n")
    r = mailwright.send(raw, maildir=tmp_path / "M")
    assert r["transport"] == "maildir" and r["recipients"][0]["status"] == "accepted"
    md = mailwright.Maildir(tmp_path / "M")
    [m] = md.messages()
    assert m.is_new and mailwright.parse(m.read()).subject == "s"
    seen = md.set_flags(m, "S")
    assert seen.flags == "S" and not seen.is_new
    moved = md.move_to(seen, md.folder("Archive"))
    assert md.folders() == ["Archive"] and moved.path.exists() and md.messages() == []

    box = mailwright.Mbox(tmp_path / "box")
    box.append(raw, sender="a@example.org")
    box.append(raw)
    assert [mailwright.parse(x).text for x in box.messages()] == ["From here\n", "From here\n"]
    with mailwright.Mbox(tmp_path / "box") as b:
        assert [mailwright.parse(x).subject for x in b] == ["s", "s"]
    with mailwright.Maildir(tmp_path / "M2") as m2:
        assert len(m2) == 0 and list(m2) == []

    out = mailwright.Outbox(tmp_path / "out")
    qid = out.add(raw)
    [entry] = out.status()
    assert entry["id"] == qid and entry["state"] == "queued"
    report = out.flush(maildir=tmp_path / "M2")
    assert report["delivered"] == 1 and out.status() == []

    # A misspelt destination is refused before anything is sent, as Python refuses a keyword.
    for call in (lambda: mailwright.send(raw, mialdir=tmp_path / "M"), lambda: out.flush(smpt="smtp://127.0.0.1")):
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            call()
    with pytest.raises(TypeError):
        mailwright.send(raw, maildir=tmp_path / "M", timeout="soon")
    with pytest.raises(ValueError, match="timeout"):
        mailwright.send(raw, maildir=tmp_path / "M", timeout=-1.0)


def test_smtp_submission_through_postfix() -> None:
    need_server("127.0.0.1", 587, "Postfix")
    raw = mailwright.build(from_="alice@example.test", to="bob@example.test", subject=f"py {time.time_ns()}", text="x")
    r = mailwright.send(raw, smtp="smtp://127.0.0.1:587", user="alice@example.test", password="alicepw", ca_file=CA)
    assert r["tls"][1] is True and r["recipients"][0]["status"] == "accepted"
    bad = mailwright.build(from_="alice@example.test", to="reject@example.test", subject="x", text="x")
    with pytest.raises(mailwright.SmtpError) as e:
        mailwright.send(bad, smtp="smtp://127.0.0.1:587", user="alice@example.test", password="alicepw", ca_file=CA)
    assert e.value.is_transient is False and e.value.recipients[0]["code"] == 550
    with pytest.raises(mailwright.SmtpError) as e:
        mailwright.send(raw, smtp="smtp://127.0.0.1:587", user="alice@example.test", password="wrong", ca_file=CA)
    assert e.value.code == 535


def test_mx_delivery_and_imap_sync(tmp_path: Path) -> None:
    need_server("127.0.0.1", 143, "Dovecot")
    # MX: the test zone's example.test points at Postfix on port 25.
    raw = mailwright.build(from_="a@client.test", to="bob@example.test", subject=f"mx {time.time_ns()}", text="x")
    r = mailwright.send(raw, mx=True, resolvers=["127.0.0.1:5353"], smtp_port=25)
    assert r["recipients"][0]["host"] == "mail.example.test[127.0.0.1]:25"
    with pytest.raises(mailwright.MxError) as e:
        mailwright.send(raw.replace(b"bob@example.test", b"x@nullmx.test"), mx=True, resolvers=["127.0.0.1:5353"])
    assert e.value.is_transient is False
    # IMAP: bob's INBOX into a Maildir, twice: the second time nothing is new.
    deadline = time.time() + 20
    while True:
        reports = mailwright.imap_sync(
            "imaps://127.0.0.1", user="bob@example.test", password="bobpw", maildir=tmp_path / "M", ca_file=CA
        )
        subjects = [mailwright.parse(m.read()).subject for m in mailwright.Maildir(tmp_path / "M").messages()]
        if any(s == raw.split(b"Subject: ")[1].split(b"\r\n")[0].decode() for s in subjects) or time.time() > deadline:
            break
        time.sleep(0.3)
    again = mailwright.imap_sync("imap://127.0.0.1", user="bob@example.test", password="bobpw", maildir=tmp_path / "M", ca_file=CA)
    assert again[0]["fetched"] == 0 and reports[0]["state"]["last_uid"] >= 1
    with pytest.raises(mailwright.FetchError):
        mailwright.imap_sync("imaps://127.0.0.1", user="bob@example.test", password="no", maildir=tmp_path / "N", ca_file=CA)
