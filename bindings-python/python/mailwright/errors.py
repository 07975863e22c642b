"""The exceptions mailwright raises: one tree under :class:`MailwrightError`."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class MailwrightError(Exception):
    """Base class of every mailwright error."""


class ParseError(MailwrightError, ValueError):
    """The input cannot be parsed as a message (for instance, it is over the size limit)."""


class BuildError(MailwrightError, ValueError):
    """A message cannot be built: a header would be injected, an address is not one, no recipient."""


class DissectError(MailwrightError):
    """Dissecting failed: the output folder cannot be used."""


class MailboxError(MailwrightError, OSError):
    """A Maildir, mbox or file could not be read or written (an ``OSError``, with ``errno``)."""


class DeliveryError(MailwrightError):
    """A message could not be handed over.

    ``is_transient`` says whether trying later may work; ``code`` and ``enhanced_code`` are the
    server's reply when there was one; ``recipients`` has one dict per recipient when known.
    """

    code: Optional[int] = None
    enhanced_code: Optional[str] = None
    is_transient: bool = False
    recipients: List[Dict[str, Any]] = []


class SmtpError(DeliveryError):
    """SMTP submission failed."""


class MxError(DeliveryError):
    """Direct delivery to MX hosts failed."""


class OutboxError(MailwrightError):
    """The outbox folder could not be used."""


class FetchError(MailwrightError):
    """IMAP sync failed; ``is_transient`` says whether trying later may work."""

    is_transient: bool = False


class MigrateError(MailwrightError):
    """A migration could not run (its state folder is unusable, say); a mailbox's own failure
    is in the report. ``is_transient`` says whether running again later may work."""

    is_transient: bool = False


class BotError(MailwrightError):
    """The bot could not run: another bot holds its Maildir or state folder, its transport or
    state is unusable. ``is_transient`` says whether running again later may work."""

    is_transient: bool = False


class AuthError(MailwrightError, ValueError):
    """Sender checks could not run: the input is not a message, an option or a key is unusable.
    What the checks find (a failed signature, DNS that did not answer) is a result, never this."""


__all__ = [
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
