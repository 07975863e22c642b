"""The data-driven parse cases shared with the Rust suite (core/testdata/cases/parse.json)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import mailwright

CASES: List[Dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parents[2] / "core" / "testdata" / "cases" / "parse.json").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_case(case: Dict[str, Any], crlf: bool, tmp_path: Path) -> None:
    raw = case["input"].encode()
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    msg = mailwright.parse(raw)
    want = case["expect"]
    if "subject" in want:
        assert msg.subject == want["subject"]
    if "from" in want:
        assert [list(a) for a in msg.from_] == want["from"]
    if "to" in want:
        assert [list(a) for a in msg.to] == want["to"]
    for key in ("text", "html"):
        if key in want:
            got = getattr(msg, key)
            assert (got.rstrip() if got is not None else None) == want[key]
    if "date" in want:
        assert msg.date_text == want["date"]
        assert msg.date is not None and msg.date.isoformat() == want["date"]
    if "message_id" in want:
        assert msg.message_id == want["message_id"]
    for k, v in want.get("headers", {}).items():
        assert msg.headers[k] == v
    if "attachments" in want:
        got = [[a.filename, a.content_type, base64.b64encode(bytes(a.content)).decode()] for a in msg.attachments]
        assert got == want["attachments"]
    if "attachment_names" in want:
        assert [a.filename for a in msg.attachments] == want["attachment_names"]
    # One answer to "what are the attachments": the list and the dissect manifest agree.
    manifest = msg.dissect(tmp_path / "out").to_dict()["attachments"]
    assert [(a.path, a.filename) for a in msg.attachments] == [(f["part"], f["filename"]) for f in manifest]
