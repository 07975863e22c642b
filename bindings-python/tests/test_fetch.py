"""imap_sync and Mailbot's IMAP source with replicas (the first that answers is used) and an
OAuth2 bearer token (a JWT the test signs with the test Dovecot's key)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import mailwright
from conftest import CA, need_server

KEY = "/etc/mailwright-test/oauth2/keys/default/HS256/default"
CONF = "/etc/mailwright-test/dovecot.conf"
USER = "bob@example.test"


def jwt(sub: str, valid_for: int) -> str:
    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    key = base64.b64decode(Path(KEY).read_text().strip())
    now = int(time.time())
    signing = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(
        json.dumps({"sub": sub, "iat": now - 600, "exp": now + valid_for}).encode()
    )
    return signing + "." + b64(hmac.new(key, signing.encode(), hashlib.sha256).digest())


def folder(tag: str, n: int) -> str:
    name = f"Tpy{tag}{os.getpid()}x{time.time_ns()}"
    subprocess.run(["doveadm", "-c", CONF, "mailbox", "create", "-u", USER, name], check=True)
    for i in range(n):
        raw = f"From: a@example.test\r\nTo: {USER}\r\nSubject: py {i}\r\n\r\nbody {i}\r\n".encode()
        subprocess.run(["doveadm", "-c", CONF, "save", "-u", USER, "-m", name], input=raw, check=True)
    return name


@pytest.fixture
def dovecot() -> None:
    need_server("127.0.0.1", 993, "Dovecot")
    if not os.path.exists(KEY):
        msg = "no OAuth2 key in /etc/mailwright-test (run `scripts/mail-servers start`)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + "; CI must not skip")
        pytest.skip(msg)


def test_imap_sync_takes_the_first_server_that_answers_with_a_token(dovecot: None, tmp_path: Path) -> None:
    name = folder("sync", 3)
    token = tmp_path / "token"
    token.write_text(jwt(USER, 600) + "\n")
    start = time.monotonic()
    reports = mailwright.imap_sync(
        ["imaps://127.0.3.9:1", "imaps://127.0.0.1"],
        user=USER,
        maildir=tmp_path / "M",
        folders=[name],
        ca_file=CA,
        connect_timeout=2,
        batch=2,
        oauth2_token_file=token,
    )
    assert time.monotonic() - start < 10
    assert [(r["fetched"], r["server"]) for r in reports] == [(3, "127.0.0.1:993")]
    again = mailwright.imap_sync("imaps://127.0.0.1", user=USER, password="bobpw", maildir=tmp_path / "M", folders=[name], ca_file=CA)
    assert again[0]["fetched"] == 0, "the state is the account's, whichever server"
    with pytest.raises(mailwright.FetchError):
        mailwright.imap_sync("imaps://127.0.0.1", user=USER, maildir=tmp_path / "N", ca_file=CA)
    with pytest.raises(mailwright.FetchError) as e:
        token.write_text(jwt(USER, -60) + "\n")
        mailwright.imap_sync("imaps://127.0.0.1", user=USER, maildir=tmp_path / "N", ca_file=CA, oauth2_token_file=token)
    assert jwt(USER, -60).split(".")[2] not in str(e.value)


def test_mailbot_source_with_replicas_and_a_token_command(dovecot: None, tmp_path: Path) -> None:
    name = folder("bot", 2)
    (tmp_path / "token").write_text(jwt(USER, 600) + "\n")
    bot = mailwright.Mailbot(
        tmp_path / "Maildir",
        state=tmp_path / "state",
        imap=["imap://127.0.3.9:1", "imap://127.0.0.1"],
        connect_timeout=2,
        user=USER,
        folders=[name],
        ca_file=CA,
        oauth2_token_command=["cat", str(tmp_path / "token")],
    )
    bot.add_rule(mailwright.Rule("all"))
    assert bot.run_once().handled == 2
    assert bot.run_once().handled == 0


def test_imap_sync_two_way_flags(dovecot: None, tmp_path: Path) -> None:
    name = folder("flags", 2)
    maildir = tmp_path / "M"
    kw = dict(user=USER, password="bobpw", maildir=maildir, folders=[name], ca_file=CA, flags="two-way")
    (first,) = mailwright.imap_sync("imaps://127.0.0.1", **kw)  # type: ignore[arg-type]
    assert first["fetched"] == 2 and first["flags"]["to_server"] == 0
    # Read here: the server learns it; flagged there: the file learns it.
    local = maildir / f".{name}"
    one, two = sorted((local / "new").iterdir())
    one.rename(local / "cur" / (one.name + ":2,S"))
    subprocess.run(["doveadm", "-c", CONF, "flags", "add", "-u", USER, "\\Flagged", "mailbox", name, "uid", "2"], check=True)
    (again,) = mailwright.imap_sync("imaps://127.0.0.1", **kw)  # type: ignore[arg-type]
    assert (again["flags"]["to_server"], again["flags"]["to_local"]) == (1, 1)
    assert (local / "cur" / (two.name + ":2,F")).exists()
    out = subprocess.run(
        ["doveadm", "-c", CONF, "fetch", "-u", USER, "flags", "mailbox", name, "uid", "1"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert "\\Seen" in out
    with pytest.raises(mailwright.FetchError):
        mailwright.imap_sync("imaps://127.0.0.1", user=USER, password="bobpw", maildir=maildir, ca_file=CA, expunge=True)
