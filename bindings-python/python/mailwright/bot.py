"""The mailbot from Python: rules as objects or as decorators on your own functions.

>>> bot = Mailbot("Maildir", done="Printed")
>>> @bot.rule(from_=["*@example.org"], attachment_type=["application/pdf"])
... def print_it(msg, attachments):
...     for a in attachments:
...         print("lpr", a.filename)
>>> report = bot.run_once()   # doctest: +SKIP

Each message goes claim → act → commit exactly as with ``mailwright bot``: a function that
raises sends its message to quarantine with the exception as the reason; a crash handles the
message again on the next run; the ledger records each message once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ._mailwright import Bot as _Bot
from ._mailwright import Message, Part, parse

Handler = Callable[[Message, List[Part]], None]
_PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class Rule:
    """One rule: conditions (globs; all given must hold, any entry of a list may match) and
    actions, as in the rules file (``{"type": "save", "dir": "pdfs"}``…), plus an optional
    Python ``handler`` called with the message and the attachments the rule selected."""

    name: str
    from_: Sequence[str] = ()
    to: Sequence[str] = ()
    subject: Sequence[str] = ()
    header: Mapping[str, str] = field(default_factory=dict)
    attachment_type: Sequence[str] = ()
    attachment_name: Sequence[str] = ()
    stop: bool = False
    actions: Sequence[Mapping[str, Any]] = ()
    handler: Optional[Handler] = None


@dataclass
class Report:
    """What one cycle did."""

    handled: int
    unmatched: int
    already: int
    quarantined: int
    log: List[Dict[str, Any]]
    retrying: int = 0
    """Messages left claimed to be tried again next cycle (a program timed out)."""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (str, os.PathLike)):
        return json.dumps(os.fspath(value))  # a JSON string is a TOML basic string
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    return "[" + ", ".join(_toml(v) for v in value) + "]"


class Mailbot:
    """A mailbot over ``maildir`` (created when missing), or over the rules file ``rules``
    with more rules added here. See the module docs."""

    def __init__(
        self,
        maildir: Optional[_PathLike] = None,
        *,
        rules: Optional[_PathLike] = None,
        state: Optional[_PathLike] = None,
        done: str = "Handled",
        quarantine: str = "Quarantine",
        imap: Optional[str] = None,
        user: Optional[str] = None,
        password_file: Optional[_PathLike] = None,
        folders: Sequence[str] = (),
        ca_file: Optional[_PathLike] = None,
        dry_run: bool = False,
    ) -> None:
        if (maildir is None) == (rules is None):
            raise ValueError("give either maildir= or rules=")
        self._rules: List[Rule] = []
        self._handlers: Dict[str, Handler] = {}
        self._dry_run = dry_run
        self._native: Optional[_Bot] = None
        if rules is not None:
            path = Path(rules).resolve()
            self._base = path.parent
            self._head = path.read_text(encoding="utf-8")
        else:
            self._base = Path.cwd()
            source: Dict[str, Any] = {"maildir": Path(os.fspath(maildir)).resolve() if maildir is not None else ""}
            for k, v in (("imap", imap), ("user", user), ("password_file", password_file), ("ca_file", ca_file)):
                if v is not None:
                    source[k] = v
            if folders:
                source["folders"] = list(folders)
            bot: Dict[str, Any] = {"done": done, "quarantine": quarantine}
            if state is not None:
                bot["state"] = Path(os.fspath(state)).resolve()
            self._head = "[source]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in source.items())
            self._head += "\n[bot]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in bot.items())

    def add_rule(self, rule: Rule) -> Rule:
        """Adds a rule (after the ones already there)."""
        if rule.handler is not None:
            self._handlers[rule.name] = rule.handler
        self._rules.append(rule)
        self._native = None
        return rule

    def rule(
        self,
        *,
        name: Optional[str] = None,
        from_: Sequence[str] = (),
        to: Sequence[str] = (),
        subject: Sequence[str] = (),
        header: Optional[Mapping[str, str]] = None,
        attachment_type: Sequence[str] = (),
        attachment_name: Sequence[str] = (),
        stop: bool = False,
        actions: Sequence[Mapping[str, Any]] = (),
    ) -> Callable[[Handler], Handler]:
        """Decorator: the function runs (after ``actions``) for every message the rule matches."""

        def register(fn: Handler) -> Handler:
            self.add_rule(
                Rule(
                    name=name or fn.__qualname__,
                    from_=from_,
                    to=to,
                    subject=subject,
                    header=dict(header or {}),
                    attachment_type=attachment_type,
                    attachment_name=attachment_name,
                    stop=stop,
                    actions=actions,
                    handler=fn,
                )
            )
            return fn

        return register

    def rules_toml(self) -> str:
        """The rules file this bot runs (what ``mailwright bot --rules`` would read)."""
        out = [self._head]
        for r in self._rules:
            out.append(f"\n[[rule]]\nname = {_toml(r.name)}\n")
            for key, value in (
                ("from", r.from_),
                ("to", r.to),
                ("subject", r.subject),
                ("attachment_type", r.attachment_type),
                ("attachment_name", r.attachment_name),
            ):
                if value:
                    out.append(f"{key} = {_toml(list(value))}\n")
            if r.header:
                out.append(f"header = {_toml(dict(r.header))}\n")
            if r.stop:
                out.append("stop = true\n")
            actions = list(r.actions)
            if r.handler is not None:
                actions.append({"type": "call", "handler": r.name})
            for a in actions:
                out.append("[[rule.action]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in a.items()))
        return "".join(out)

    def _dispatch(self, name: str, raw: bytes, parts: List[str]) -> None:
        msg = parse(raw)
        by_path = {p.path: p for p in msg.walk()}
        self._handlers[name](msg, [by_path[p] for p in parts if p in by_path])

    def _bot(self) -> _Bot:
        if self._native is None:
            self._native = _Bot(self.rules_toml(), self._base, self._dispatch, self._dry_run)
        return self._native

    def run_once(self) -> Report:
        """Handles every message there is now."""
        bot = self._bot()
        handled, unmatched, already, quarantined, retrying = bot.run_once()
        log = [json.loads(x) for x in bot.take_log()]
        return Report(handled, unmatched, already, quarantined, log, retrying)

    def watch(self, interval: float = 1.0, stop: Optional[Callable[[], bool]] = None) -> None:
        """Handles messages as they arrive until ``stop()`` is true (or forever): the Maildir is
        looked at every ``interval`` seconds; with an IMAP source the wait is an IMAP IDLE."""
        self._bot().watch(interval, stop or (lambda: False))


__all__ = ["Mailbot", "Rule", "Report", "Handler"]
