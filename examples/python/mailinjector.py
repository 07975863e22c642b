"""mailInjector: send a PDF as an attachment.

    python mailinjector.py report.pdf bot@example.org --maildir ~/Maildir
    MAILWRIGHT_PASSWORD=... python mailinjector.py report.pdf bot@example.org \\
        --smtp smtp://mail.example.org --user jane@example.org
"""

from __future__ import annotations

import argparse
import os

import mailwright


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("pdf")
    p.add_argument("to")
    p.add_argument("--from", dest="sender", default="jane@example.org")
    p.add_argument("--smtp")
    p.add_argument("--user")
    p.add_argument("--maildir")
    a = p.parse_args()
    raw = mailwright.build(from_=a.sender, to=a.to, subject=os.path.basename(a.pdf), text="Please print.\n", attachments=[a.pdf])
    if a.smtp:
        receipt = mailwright.send(raw, smtp=a.smtp, user=a.user, password=os.environ.get("MAILWRIGHT_PASSWORD"))
    else:
        receipt = mailwright.send(raw, maildir=a.maildir or "Maildir")
    print(receipt["transport"], [r["status"] for r in receipt["recipients"]])


if __name__ == "__main__":
    main()
