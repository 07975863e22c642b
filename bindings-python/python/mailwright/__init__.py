"""mailwright: build, inject, retrieve, dissect and automate mail.

>>> import mailwright
>>> msg = mailwright.parse(b"From: Jane <jane@example.org>\\r\\nSubject: Hi\\r\\n\\r\\nHello\\r\\n")
>>> msg.subject, msg.from_[0]
('Hi', ('Jane', 'jane@example.org'))
"""

from __future__ import annotations

import os
from typing import Iterable, Optional, Sequence, Union

from ._mailwright import (
    Dissection,
    Maildir,
    MaildirMessage,
    Mbox,
    MboxIter,
    Message,
    MessageBuilder,
    Outbox,
    Part,
    __version__,
    audit,
    dkim_keygen,
    imap_sync,
    migrate,
    parse,
    parse_file,
    send,
)
from .errors import (
    AuthError,
    BotError,
    BuildError,
    DeliveryError,
    DissectError,
    FetchError,
    MigrateError,
    MailboxError,
    MailwrightError,
    MxError,
    OutboxError,
    ParseError,
    SmtpError,
)
from .bot import Mailbot, Report, Rule, RulesWarning
from .headers import Headers

PathLike = Union[str, "os.PathLike[str]"]


def build(
    *,
    from_: str,
    to: Union[str, Sequence[str]] = (),
    cc: Union[str, Sequence[str]] = (),
    bcc: Union[str, Sequence[str]] = (),
    subject: Optional[str] = None,
    text: Optional[str] = None,
    html: Optional[str] = None,
    attachments: Iterable[Union[PathLike, "tuple[str, bytes]"]] = (),
    headers: Iterable["tuple[str, str]"] = (),
    dkim_key: Union[bytes, PathLike, None] = None,
    dkim_selector: Optional[str] = None,
    dkim_domain: Optional[str] = None,
) -> bytes:
    """Builds a message in one call: ``attachments`` are paths, or ``(filename, bytes)`` pairs;
    with ``dkim_key`` (PEM bytes or a path) and ``dkim_selector`` it is DKIM-signed."""
    b = MessageBuilder().from_(from_)
    for field, values in (("to", to), ("cc", cc), ("bcc", bcc)):
        for v in [values] if isinstance(values, str) else values:
            getattr(b, field)(v)
    if subject is not None:
        b.subject(subject)
    if text is not None:
        b.text(text)
    if html is not None:
        b.html(html)
    for name, value in headers:
        b.header(name, value)
    for a in attachments:
        if isinstance(a, tuple):
            b.attach_bytes(a[0], a[1])
        else:
            b.attach_path(os.fspath(a))
    if (dkim_key is None) != (dkim_selector is None):
        raise ValueError("dkim_key and dkim_selector go together")
    if dkim_key is not None and dkim_selector is not None:
        b.dkim(dkim_key, dkim_selector, dkim_domain)
    return b.build()


__all__ = [
    "__version__",
    "parse",
    "parse_file",
    "build",
    "send",
    "imap_sync",
    "migrate",
    "audit",
    "Message",
    "Part",
    "Dissection",
    "Headers",
    "MessageBuilder",
    "Maildir",
    "MaildirMessage",
    "Mbox",
    "MboxIter",
    "Outbox",
    "Mailbot",
    "Rule",
    "Report",
    "RulesWarning",
    "dkim_keygen",
    "MailwrightError",
    "ParseError",
    "BuildError",
    "DissectError",
    "MailboxError",
    "DeliveryError",
    "SmtpError",
    "MxError",
    "OutboxError",
    "FetchError",
    "MigrateError",
    "BotError",
    "AuthError",
]
