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
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ._mailwright import Bot as _Bot
from ._mailwright import Message, Part

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
    authenticated: bool = False
    """Only mail that proves its From: domain (DKIM + DMARC, or the trusted server's word)."""
    authenticated_domain: Sequence[str] = ()
    """Only mail that proves one of these From: domains."""
    stop: bool = False
    actions: Sequence[Mapping[str, Any]] = ()
    handler: Optional[Handler] = None


class RulesWarning(UserWarning):
    """A rule that acts on what anyone can forge: it replies, forwards or runs a program for mail
    chosen by ``from_`` alone. Add ``authenticated=True``."""


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


def _plain(value: Any) -> Any:
    """``value`` with paths as strings and sequences as lists, for JSON."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


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
        imap: Union[str, Sequence[str], None] = None,
        user: Optional[str] = None,
        password_file: Optional[_PathLike] = None,
        connect_timeout: Optional[int] = None,
        oauth2_token_file: Optional[_PathLike] = None,
        oauth2_token_command: Optional[Sequence[str]] = None,
        oauth2_mechanism: Optional[str] = None,
        flags: Optional[str] = None,
        expunge: bool = False,
        folders: Sequence[str] = (),
        ca_file: Optional[_PathLike] = None,
        trust_authserv: Optional[str] = None,
        trust_received: Optional[str] = None,
        resolver: Sequence[str] = (),
        dns_records: Optional[Mapping[str, str]] = None,
        reply_unauthenticated: bool = False,
        dry_run: bool = False,
    ) -> None:
        if (maildir is None) == (rules is None):
            raise ValueError("give either maildir= or rules=")
        self._rules: List[Rule] = []
        self._handlers: Dict[str, Handler] = {}
        self._dry_run = dry_run
        self._native: Optional[_Bot] = None
        self._file: Optional[Path] = None
        self._head: Dict[str, Any] = {}
        if rules is not None:
            self._file = Path(rules).resolve()
            self._base = self._file.parent
        else:
            self._base = Path.cwd()
            source: Dict[str, Any] = {"maildir": Path(os.fspath(maildir)).resolve() if maildir is not None else ""}
            for k, v in (
                ("imap", imap if imap is None or isinstance(imap, str) else list(imap)),
                ("user", user),
                ("password_file", password_file),
                ("ca_file", ca_file),
                ("connect_timeout", connect_timeout),
                ("oauth2_token_file", oauth2_token_file),
                ("oauth2_token_command", None if oauth2_token_command is None else list(oauth2_token_command)),
                ("oauth2_mechanism", oauth2_mechanism),
                ("flags", flags),
            ):
                if v is not None:
                    source[k] = v
            if expunge:
                source["expunge"] = True
            if folders:
                source["folders"] = list(folders)
            bot: Dict[str, Any] = {"done": done, "quarantine": quarantine}
            if state is not None:
                bot["state"] = Path(os.fspath(state)).resolve()
            for k, t in (("trust_authserv", trust_authserv), ("trust_received", trust_received)):
                if t is not None:
                    bot[k] = t
            if resolver:
                bot["resolver"] = list(resolver)
            if dns_records:
                bot["dns_records"] = dict(dns_records)
            if reply_unauthenticated:
                bot["reply_unauthenticated"] = True
            self._head = {"source": source, "bot": bot}

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
        authenticated: bool = False,
        authenticated_domain: Sequence[str] = (),
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
                    authenticated=authenticated,
                    authenticated_domain=authenticated_domain,
                    stop=stop,
                    actions=actions,
                    handler=fn,
                )
            )
            return fn

        return register

    def rules_json(self) -> str:
        """The rules this bot runs, as the JSON the core reads: the whole document (``source``,
        ``bot``, ``rule``), or with ``rules=`` the rules added here (``rule``), which follow the
        file's own."""
        return json.dumps(self._doc())

    def _doc(self) -> Dict[str, Any]:
        rules = []
        for r in self._rules:
            rule: Dict[str, Any] = {"name": r.name}
            for key, value in (
                ("from", r.from_),
                ("to", r.to),
                ("subject", r.subject),
                ("attachment_type", r.attachment_type),
                ("attachment_name", r.attachment_name),
                ("authenticated_domain", r.authenticated_domain),
            ):
                if value:
                    rule[key] = list(value)
            if r.header:
                rule["header"] = dict(r.header)
            if r.authenticated:
                rule["authenticated"] = True
            if r.stop:
                rule["stop"] = True
            actions = [dict(a) for a in r.actions]
            if r.handler is not None:
                actions.append({"type": "call", "handler": r.name})
            rule["action"] = actions
            rules.append(rule)
        doc: Dict[str, Any] = _plain({**self._head, "rule": rules})
        return doc

    def _dispatch(self, name: str, msg: Message, parts: List[str]) -> None:
        by_path = {p.path: p for p in msg.walk()}
        self._handlers[name](msg, [by_path[p] for p in parts if p in by_path])

    def _bot(self) -> _Bot:
        if self._native is None:
            doc = self._doc()
            if self._file is None:
                self._native = _Bot(json.dumps(doc), self._base, self._dispatch, self._dry_run)
            else:
                rules = json.dumps(doc["rule"])
                self._native = _Bot(rules, self._base, self._dispatch, self._dry_run, self._file)
            for w in self._native.warnings():
                warnings.warn(w, RulesWarning, stacklevel=3)
        return self._native

    def run_once(self) -> Report:
        """Handles every message there is now."""
        bot = self._bot()
        handled, unmatched, already, quarantined, retrying = bot.run_once()
        log = [json.loads(x) for x in bot.take_log()]
        return Report(handled, unmatched, already, quarantined, log, retrying)

    def watch(self, interval: float = 1.0, stop: Optional[Callable[[], bool]] = None) -> None:
        """Handles messages as they arrive until ``stop()`` is true (or forever; asked before each
        message, so a stop finishes the message in hand). A local Maildir wakes the bot on
        change notifications (inotify) and is looked at every 30 s anyway, or every ``interval``
        seconds where notifications are not available; with an IMAP source the wait is an IMAP
        IDLE of at most ``interval``."""
        self._bot().watch(interval, stop or (lambda: False))


__all__ = ["Mailbot", "Rule", "Report", "Handler", "RulesWarning"]
