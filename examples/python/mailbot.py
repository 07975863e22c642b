"""mailBot: take every received PDF from an allowed sender apart into the original file and
print the command that would print it. Only mail that proves its sender counts (DKIM + DMARC,
checked here, or the word of the MTA that filled the Maildir with --trust-authserv): a forged
From: is handled without action. Each message is handled once (ledger, claim by rename); a
message whose handler fails goes to the Quarantine folder with the reason.

    python mailbot.py ~/Maildir out/ --printer office [--trust-authserv mx.example.org] [--watch]
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
from pathlib import Path
from typing import List

import mailwright


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("maildir")
    p.add_argument("out")
    p.add_argument("--printer", default="printer")
    p.add_argument("--allow", default="*@example.org", help="allowed senders (glob)")
    p.add_argument("--trust-authserv", help="believe this MTA's Authentication-Results")
    p.add_argument("--watch", action="store_true")
    a = p.parse_args()
    bot = mailwright.Mailbot(a.maildir, done="Printed", trust_authserv=a.trust_authserv)

    @bot.rule(from_=[a.allow], authenticated=True, attachment_type=["application/pdf"])
    def print_pdfs(msg: mailwright.Message, attachments: List[mailwright.Part]) -> None:
        # A folder named by the message's hash: message data (a Message-ID of "../..", an
        # absolute one) never becomes part of a path.
        out = Path(a.out) / hashlib.sha256(msg.raw).hexdigest()[:16]
        for f in msg.dissect(out).to_dict()["attachments"]:
            if f["content_type"] == "application/pdf":
                print(shlex.join(["lpr", "-P", a.printer, str(out / f["saved_as"])]))

    if a.watch:
        bot.watch()
    else:
        report = bot.run_once()
        print(f"handled {report.handled}, quarantined {report.quarantined}")


if __name__ == "__main__":
    main()
