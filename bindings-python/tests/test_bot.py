"""The mailbot from Python: decorated handlers, rule objects, quarantine, each message once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

import mailwright


def _mail(md: mailwright.Maildir, sender: str, subject: str, pdf: bool = True) -> None:
    attachments = [("report.pdf", b"%PDF-1.4 " + subject.encode())] if pdf else []
    md.deliver(mailwright.build(from_=sender, to="bot@example.org", subject=subject, text="x", attachments=attachments))


def test_decorated_handlers_run_once_and_failures_are_quarantined(tmp_path: Path) -> None:
    md = mailwright.Maildir(tmp_path / "Maildir")
    _mail(md, "jane@example.org", "ok")
    _mail(md, "jane@example.org", "boom")
    _mail(md, "mallory@evil.test", "ignored")
    bot = mailwright.Mailbot(tmp_path / "Maildir", state=tmp_path / "state", done="Printed")
    printed: List[str] = []

    @bot.rule(from_=["*@example.org"], attachment_type=["application/pdf"], actions=[{"type": "save", "dir": str(tmp_path / "pdfs")}])
    def print_it(msg: mailwright.Message, attachments: List[mailwright.Part]) -> None:
        if msg.subject == "boom":
            raise RuntimeError("printer on fire")
        printed.extend(bytes(a.content).decode() for a in attachments)

    r = bot.run_once()
    assert (r.handled, r.quarantined, r.unmatched) == (2, 1, 1)
    assert printed == ["%PDF-1.4 ok"]
    reasons = list((tmp_path / "state" / "quarantine").iterdir())
    assert len(reasons) == 1 and "printer on fire" in reasons[0].read_text()
    assert any(line.get("action") == "call" for line in r.log)
    again = bot.run_once()
    assert (again.handled, again.quarantined) == (0, 0), "each message once"
    assert len(mailwright.Maildir(tmp_path / "Maildir").folder("Printed")) == 2


def test_rule_objects_and_the_generated_rules_file(tmp_path: Path) -> None:
    md = mailwright.Maildir(tmp_path / "M")
    _mail(md, "jane@example.org", 'quote " and \\ backslash')
    bot = mailwright.Mailbot(tmp_path / "M", state=tmp_path / "s")
    bot.add_rule(mailwright.Rule(name="prints", subject=["*quote*"], actions=[{"type": "print", "command": ["lpr", "{file}"]}]))
    assert json.loads(bot.rules_json())["rule"][0]["subject"] == ["*quote*"]
    r = bot.run_once()
    assert r.handled == 1
    [printed] = [line for line in r.log if line.get("action") == "print"]
    assert printed["detail"]["commands"][0][0] == "lpr"


def test_a_rules_file_with_rules_added_in_code_and_the_handlers_message(tmp_path: Path) -> None:
    md = mailwright.Maildir(tmp_path / "Maildir")
    _mail(md, "jane@example.org", "from file")
    (tmp_path / "rules.toml").write_text(
        '[source]\nmaildir = "Maildir"\n[bot]\nstate = "state"\n'
        '[[rule]]\nname = "save"\nattachment_type = ["application/pdf"]\n'
        '[[rule.action]]\ntype = "save"\ndir = "pdfs"\n'
    )
    bot = mailwright.Mailbot(rules=tmp_path / "rules.toml")
    seen: List[tuple[str, bytes, bytes]] = []

    @bot.rule(name="handler", attachment_type=["application/pdf"])
    def handler(msg: mailwright.Message, attachments: List[mailwright.Part]) -> None:
        # The bot's own parse: contents are views, `raw` is the message as stored.
        seen.append((msg.subject or "", bytes(attachments[0].content), bytes(msg.raw)))

    assert [r["name"] for r in json.loads(bot.rules_json())["rule"]] == ["handler"]
    r = bot.run_once()
    assert (r.handled, r.quarantined) == (1, 0), r.log
    [(subject, content, raw)] = seen
    assert (subject, content) == ("from file", b"%PDF-1.4 from file")
    assert mailwright.parse(raw).subject == "from file"
    assert len(list((tmp_path / "pdfs").iterdir())) == 1, "the file's own rule ran first"
    bad = tmp_path / "bad.toml"
    bad.write_text('[source]\nmaildir = "Maildir"\n')
    broken = mailwright.Mailbot(rules=bad)
    broken.add_rule(mailwright.Rule(name="x", actions=[{"type": "no-such-action"}]))
    try:
        broken.run_once()
    except ValueError as e:  # rules are configuration: a bad one is a ValueError
        assert "no-such-action" in str(e), e
    else:
        raise AssertionError("a bad rule added in code is refused")


def test_watch_picks_up_new_mail_and_stops(tmp_path: Path) -> None:
    import threading
    import time

    md = mailwright.Maildir(tmp_path / "W")
    bot = mailwright.Mailbot(tmp_path / "W", state=tmp_path / "ws")
    seen: List[str] = []

    @bot.rule(subject=["late*"])
    def record(msg: mailwright.Message, attachments: List[mailwright.Part]) -> None:
        seen.append(msg.subject or "")

    def later() -> None:
        time.sleep(0.3)
        _mail(md, "jane@example.org", "late one", pdf=False)

    t = threading.Thread(target=later)
    t.start()
    deadline = time.time() + 20
    bot.watch(interval=0.05, stop=lambda: bool(seen) or time.time() > deadline)
    t.join()
    assert seen == ["late one"]
