#!/usr/bin/env python3
"""Independent check of a migration (Python's imaplib, no mailwright code): for every mailbox
pair, every source folder against the destination folder it should have gone to (the one with
the same special use, else the same path with the destination's separator), message by message:
SHA-256 of the bytes (counted: duplicates must all arrive), flags and keywords, INTERNALDATE.

  migrate-verify.py SOURCE_HOST DEST_HOST CA USERS_CSV   -> one JSON object on stdout
"""

import collections
import csv
import hashlib
import imaplib
import json
import re
import ssl
import sys

SPECIAL = ["\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"]
NAMES = {"sent items": "\\Sent", "sent": "\\Sent", "deleted items": "\\Trash", "trash": "\\Trash",
         "junk e-mail": "\\Junk", "junk": "\\Junk", "drafts": "\\Drafts", "archive": "\\Archive"}
LIST = re.compile(rb'\((?P<attrs>[^)]*)\) (?:"(?P<sep>[^"]*)"|NIL) (?P<name>.+)$')
META = re.compile(rb"FLAGS \((?P<flags>[^)]*)\).*INTERNALDATE \"(?P<date>[^\"]+)\"")


def login(host, user, password, ca):
    c = imaplib.IMAP4_SSL(host, ssl_context=ssl.create_default_context(cafile=ca))
    c.login(user, password)
    return c


def folders(c):
    out = []
    for line in c.list()[1]:
        m = LIST.match(line)
        if not m or b"\\Noselect" in m["attrs"]:
            continue
        name = m["name"].decode()
        name = name[1:-1].replace('\\"', '"') if name.startswith('"') else name
        attrs = m["attrs"].decode().split()
        sep = (m["sep"] or b"/").decode()
        use = next((a for a in attrs if a in SPECIAL), None) or NAMES.get(name.split(sep)[-1].lower())
        out.append((name, sep, use))
    return out


def messages(c, folder):
    typ, _ = c.select('"%s"' % folder.replace('"', '\\"'), readonly=True)
    if typ != "OK":
        return None
    typ, data = c.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    out = collections.Counter()
    for item in data:
        if not isinstance(item, tuple):
            continue
        m = META.search(item[0])
        flags = tuple(sorted(f.lower() for f in m["flags"].decode().split() if f.lower() != "\\recent")) if m else ()
        date = imaplib.Time2Internaldate(imaplib.Internaldate2tuple(b'INTERNALDATE "' + m["date"] + b'"')) if m else ""
        out[(hashlib.sha256(item[1]).hexdigest(), flags, date)] += 1
    return out


def main():
    src_host, dst_host, ca, users = sys.argv[1:5]
    total = collections.Counter()
    for row in csv.reader(open(users)):
        s_user, s_pw, d_user, d_pw = row
        src, dst = login(src_host, s_user, s_pw, ca), login(dst_host, d_user, d_pw, ca)
        dfolders = folders(dst)
        dsep = dfolders[0][1] if dfolders else "."
        for name, sep, use in folders(src):
            want = messages(src, name) or collections.Counter()
            if not want:
                continue
            special = next((d for d, _, u in dfolders if use and u == use), None)
            same = name.replace(sep, dsep) if name.upper() != "INBOX" else "INBOX"
            target = special if special else same
            got = messages(dst, target) if any(d == target for d, _, _ in dfolders) else None
            if not got and special and same != special and any(d == same for d, _, _ in dfolders):
                # Not in the folder of its special use: under its old name, say.
                elsewhere = messages(dst, same)
                if elsewhere:
                    got = elsewhere
                    total["wrong_folder"] += sum(elsewhere.values())
            got = got or collections.Counter()
            total["source"] += sum(want.values())
            by_hash_w, by_hash_g = collections.Counter(), collections.Counter()
            for (h, _, _), n in want.items():
                by_hash_w[h] += n
            for (h, _, _), n in got.items():
                by_hash_g[h] += n
            for h, n in by_hash_w.items():
                total["missing"] += max(0, n - by_hash_g[h])
                total["duplicated"] += max(0, by_hash_g[h] - n)
            total["altered"] += sum(n for h, n in by_hash_g.items() if h not in by_hash_w)
            # Copies whose flags or date differ: what is left after pairing equal ones.
            left = got.copy()
            for key, n in want.items():
                paired = min(n, left[key])
                left[key] -= paired
                rest = n - paired
                if rest and by_hash_g[key[0]]:
                    others = [k for k in left if k[0] == key[0] and left[k]]
                    for k in others[:rest]:
                        total["flags_differ"] += k[1] != key[1]
                        total["date_differ"] += k[2] != key[2]
                        left[k] -= 1
        src.logout()
        dst.logout()
    print(json.dumps(dict(total)))


if __name__ == "__main__":
    main()
