"""dkimpy on the DKIM comparison's messages: `dkimpy-rate.py DIR SIGNED_DIR KEY.pem RECORD ROUNDS`.
Signs every DIR/*.eml (relaxed/relaxed, dkimpy's default header set) and verifies every
SIGNED_DIR/*.eml (signed by mailwright) with the key answered from memory; prints one JSON object
with the median seconds of each pass."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import dkim


def main() -> None:
    corpus, signed_dir, key, record, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    messages = [p.read_bytes() for p in sorted(corpus.glob("*.eml"))]
    signed = [p.read_bytes() for p in sorted(signed_dir.glob("*.eml"))]
    private = Path(key).read_bytes()
    txt = record.encode()

    def dns(name: bytes, timeout: float = 5, **_: object) -> bytes:
        return txt

    sign_times, verify_times = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for m in messages:
            dkim.sign(m, b"bench", b"bench.test", private, canonicalize=(b"relaxed", b"relaxed"))
        sign_times.append(time.perf_counter() - t)
    for _ in range(rounds):
        t = time.perf_counter()
        for m in signed:
            if not dkim.verify(m, dnsfunc=dns):
                raise SystemExit("dkimpy did not verify a message mailwright signed")
        verify_times.append(time.perf_counter() - t)
    print(json.dumps({"tool": "dkimpy", "messages": len(messages), "sign_s": statistics.median(sign_times), "verify_s": statistics.median(verify_times)}))


if __name__ == "__main__":
    main()
