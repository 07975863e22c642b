"""Parsing through the binding: Python types, zero-copy views, errors, threads, hostile input."""

from __future__ import annotations

import base64
import datetime
import gc
import random
import threading
import tracemalloc
from pathlib import Path

import pytest

import mailwright

SIMPLE = (
    b"From: =?utf-8?q?Ren=C3=A9?= <rene@example.org>\r\n"
    b"To: bot@example.org, Ann <ann@example.org>\r\n"
    b"Subject: =?utf-8?b?UmFwcG9ydCDlraPluqY=?=\r\n"
    b"Date: Sat, 28 Nov 2026 01:00:00 +0100\r\n"
    b"Message-ID: <m1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n"
    b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n\r\n%PDF-1.4 raw\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename*=UTF-8''d%C3%A9j%C3%A0.bin\r\n\r\nAAEC/w==\r\n--b--\r\n"
)


def test_properties_are_python_types() -> None:
    msg = mailwright.parse(SIMPLE)
    assert msg.subject == "Rapport 季度"
    assert msg.from_ == [("René", "rene@example.org")]
    assert msg.to == [(None, "bot@example.org"), ("Ann", "ann@example.org")]
    assert msg.date == datetime.datetime(2026, 11, 28, 1, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert msg.date is not None and msg.date.tzinfo is not None
    assert msg.message_id == "m1@example.org"
    assert msg.text is not None and msg.text.startswith("Bonjour")
    assert msg.headers["subject"] == msg.headers["SUBJECT"] == "Rapport 季度"
    assert "message-id" in msg.headers and "x-missing" not in msg.headers
    assert msg.headers.get_all("to") == ["bot@example.org, Ann <ann@example.org>"]
    names = [(a.filename, a.content_type) for a in msg.attachments]
    assert names == [("r.pdf", "application/pdf"), ("déjà.bin", "application/octet-stream")]
    assert [p.path for p in msg.walk()][:2] == ["", "1"] or len(msg.walk()) == 4


def test_contents_are_views_where_nothing_was_decoded() -> None:
    msg = mailwright.parse(SIMPLE)
    pdf, binary = msg.attachments
    view = pdf.content
    assert isinstance(view, memoryview) and view.obj is SIMPLE, "a view of the very input"
    assert bytes(view).startswith(b"%PDF-1.4 raw")
    decoded = binary.content
    assert isinstance(decoded, memoryview) and decoded == b"\x00\x01\x02\xff" and decoded.readonly
    assert decoded.obj is not SIMPLE and decoded.format == "B" and decoded.nbytes == 4
    assert binary.transfer_encoding == "base64" and binary.size == 4
    # bytearray and memoryview inputs are accepted (copied once).
    assert mailwright.parse(bytearray(SIMPLE)).subject == msg.subject
    assert mailwright.parse(memoryview(SIMPLE)).subject == msg.subject


def test_decoded_content_outlives_its_message() -> None:
    payload = bytes(range(256)) * 4096
    raw = (
        b"Subject: big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(payload)
    )
    msg = mailwright.parse(raw)
    view = msg.walk()[0].content
    del msg
    gc.collect()
    assert view == payload and bytes(view[:3]) == b"\x00\x01\x02"
    with pytest.raises(TypeError):
        view[0] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        type(view.obj)()
    with pytest.raises(TypeError):
        memoryview(view.obj).cast("B")[0] = 1
    # Views are released with their last reference: no growth over many parses.
    tracemalloc.start()
    for _ in range(3):
        [bytes(mailwright.parse(raw).walk()[0].content[:1]) for _ in range(50)]
    first = tracemalloc.get_traced_memory()[0]
    for _ in range(10):
        [bytes(mailwright.parse(raw).walk()[0].content[:1]) for _ in range(50)]
    assert tracemalloc.get_traced_memory()[0] - first < 1_000_000
    tracemalloc.stop()


def test_parse_file_takes_paths(tmp_path: Path) -> None:
    p = tmp_path / "m.eml"
    p.write_bytes(SIMPLE)
    assert mailwright.parse_file(p).subject == "Rapport 季度"
    assert mailwright.parse_file(str(p)).message_id == "m1@example.org"
    with pytest.raises(mailwright.MailboxError) as e:
        mailwright.parse_file(tmp_path / "missing.eml")
    assert isinstance(e.value, OSError) and e.value.errno == 2


def test_one_message_from_many_threads() -> None:
    msg = mailwright.parse(SIMPLE)
    seen: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(200):
            s = msg.subject or ""
            c = bytes(msg.attachments[1].content)
            with lock:
                seen.append(s + str(len(c)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 1600 and set(seen) == {"Rapport 季度4"}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 1000,
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" * 5000,
        b"Subject: " + b"a" * 2_000_000 + b"\r\n\r\nbody",
        b"From: <<<@@@>>>\r\nTo: ,,,,\r\nDate: yesterday\r\n\r\n",
    ],
    ids=["empty", "nul", "deep", "long-header", "broken-fields"],
)
def test_hostile_input_never_crashes(data: bytes, tmp_path: Path) -> None:
    msg = mailwright.parse(data)
    assert msg.date is None or isinstance(msg.date, datetime.datetime)
    msg.dissect(tmp_path / "out")
    for p in msg.walk():
        _ = p.content, p.text


def test_random_noise_never_crashes() -> None:
    rng = random.Random(7)
    for _ in range(200):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 3000)))
        mailwright.parse(b"Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n" + data).walk()


def test_dissect_gives_the_manifest(tmp_path: Path) -> None:
    d = mailwright.parse(SIMPLE).dissect(tmp_path / "out")
    m = d.to_dict()
    assert [a["saved_as"] for a in m["attachments"]] == ["r.pdf", "déjà.bin"]
    assert (tmp_path / "out" / "déjà.bin").read_bytes() == b"\x00\x01\x02\xff"
    assert d.files == 2 and m["subject"] == "Rapport 季度"
    assert d.subject == "Rapport 季度" and d.from_ == m["from"] and d.attachments[0]["saved_as"] == "r.pdf"
    with pytest.raises(AttributeError):
        d.no_such_field
    evil = SIMPLE.replace(b'filename="r.pdf"', b'filename="../../etc/passwd"')
    d = mailwright.parse(evil).dissect(tmp_path / "evil")
    assert all((tmp_path / "evil" / a["saved_as"]).resolve().is_relative_to(tmp_path / "evil") for a in d.to_dict()["attachments"])
