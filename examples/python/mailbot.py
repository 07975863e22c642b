"""mailBot: take every received message apart into its original PDF and print the command that
would print it. Handled messages move to the Maildir's "Handled" folder, so each is done once.

    python mailbot.py ~/Maildir out/ --printer office
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import mailwright


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("maildir")
    p.add_argument("out")
    p.add_argument("--printer", default="printer")
    p.add_argument("--allow", default="@example.org", help="allowed sender suffix")
    a = p.parse_args()
    inbox = mailwright.Maildir(a.maildir)
    handled = inbox.folder("Handled")
    for entry in inbox.messages():
        msg = mailwright.parse(entry.read())
        sender = msg.from_[0][1] if msg.from_ else None
        if sender and sender.endswith(a.allow) and any(x.content_type == "application/pdf" for x in msg.attachments):
            out = Path(a.out) / entry.id
            for f in msg.dissect(out).to_dict()["attachments"]:
                if f["content_type"] == "application/pdf":
                    print(shlex.join(["lpr", "-P", a.printer, str(out / f["saved_as"])]))
        inbox.move_to(entry, handled)


if __name__ == "__main__":
    main()
