"""Python's mailbox module on the same mbox: every message parsed, its subject read.
python3 benches/compare/mbox-read.py FILE"""
import mailbox
import os
import resource
import sys
import time

path = sys.argv[1]
start = time.time()
n = subjects = 0
box = mailbox.mbox(path, create=False)
for msg in box:
    subjects += len(str(msg["subject"] or ""))
    n += 1
secs = time.time() - start
size = os.path.getsize(path) / 1e6
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"python mailbox: {n} messages, {size:.1f} MB in {secs:.2f} s = {size / secs:.1f} MB/s, {n / secs:.0f} msg/s, peak RSS {rss:.0f} MB")
