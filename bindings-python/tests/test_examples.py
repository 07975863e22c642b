"""The examples are what students copy: they never join message data into a path."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mailwright

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.py")) + sorted((ROOT / "examples").rglob("*.js"))


def test_the_python_mailbot_keeps_a_hostile_message_id_inside_out(tmp_path: Path) -> None:
    md = mailwright.Maildir(str(tmp_path / "Maildir"))
    for mid in ("../../escaped@x", "/tmp/absolute@x"):
        raw = mailwright.build(
            from_="prof@example.org",
            to="bot@example.org",
            subject="sheet",
            text="see attached",
            attachments=[("sheet.pdf", b"%PDF-1.4 sheet")],
        )
        # The builder refuses such an id; a hostile sender writes it by hand.
        raw = re.sub(rb"(?m)^Message-ID: <[^>]*>", b"Message-ID: <" + mid.encode() + b">", raw, count=1)
        assert mailwright.parse(raw).message_id == mid
        # What the MTA that filled the Maildir found; the example believes it.
        md.deliver(b"Authentication-Results: mx.example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n" + raw)
    # The same sender, forged: no trusted result says otherwise, and nothing is written.
    md.deliver(mailwright.build(from_="prof@example.org", to="bot@example.org", subject="forged", attachments=[("forged.pdf", b"%PDF-1.4")]))
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python" / "mailbot.py"), str(tmp_path / "Maildir"), "out", "--trust-authserv", "mx.example.org"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "handled 3, quarantined 0" in run.stdout
    assert not list(tmp_path.rglob("forged.pdf"))
    written = [p for p in tmp_path.rglob("sheet.pdf")]
    assert len(written) == 2
    for p in written:
        assert (work / "out") in p.parents, p
    assert not (tmp_path / "escaped@x").exists()


def test_no_example_or_readme_snippet_builds_a_path_from_message_data() -> None:
    # A path operator or join next to a message field: message_id, subject, filename, from.
    risky = re.compile(r"(/|path\.join\(|Path\().{0,40}\b(message_?[iI]d|subject|filename)\b")
    texts = {p: p.read_text(encoding="utf-8") for p in EXAMPLES}
    texts[ROOT / "README.md"] = "\n".join(re.findall(r"```(?:python|js|javascript)\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S))
    for path, text in texts.items():
        for line in text.splitlines():
            assert not risky.search(line), f"{path}: {line.strip()}"
