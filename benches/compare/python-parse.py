"""Parse + decode every part, and dissect to disk, through the Python binding against Python's
`email` (policy=default and the legacy compat32 API) and the PyPI package `mail-parser`, on the
same generated corpora as the Rust benches, in one run. Then peak memory on a 50 MB message, each
library in its own process.

    cargo run --release -p mailwright-benches --bin gen-corpus -- /tmp/corpus
    python3 benches/compare/python-parse.py /tmp/corpus [ROUNDS] [--large N] [--json FILE]

Needs `pip install ./bindings-python mail-parser` in the interpreter that runs it.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from email.parser import BytesParser
from pathlib import Path
from typing import Callable, Dict, List

import mailwright

try:
    import mailparser  # PyPI mail-parser
except ImportError:  # pragma: no cover
    mailparser = None


def mw_parse(data: bytes) -> int:
    n = 0
    for p in mailwright.parse(data).walk():
        if p.kind == "leaf":
            n += len(p.text) if p.content_type.startswith("text/") else len(p.content)
    return n


def email_default(data: bytes) -> int:
    n = 0
    for p in BytesParser(policy=email.policy.default).parsebytes(data).walk():
        if not p.is_multipart():
            c = p.get_content()
            n += len(c)
    return n


def email_compat32(data: bytes) -> int:
    n = 0
    for p in email.message_from_bytes(data).walk():
        if not p.is_multipart():
            c = p.get_payload(decode=True)
            n += len(c or b"")
    return n


def pypi_mailparser(data: bytes) -> int:
    m = mailparser.parse_from_bytes(data)
    return len(m.body) + sum(len(a.get("payload", "")) for a in m.attachments)


def mw_dissect(data: bytes, out: Path) -> int:
    return mailwright.parse(data).dissect(out).files


def email_dissect(data: bytes, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, p in enumerate(BytesParser(policy=email.policy.default).parsebytes(data).walk()):
        if p.is_multipart() or p.get_content_disposition() != "attachment":
            continue
        name = os.path.basename(p.get_filename() or f"part{i}") or f"part{i}"
        c = p.get_content()
        (out / f"{i}-{name}").write_bytes(c if isinstance(c, bytes) else c.encode())
        n += 1
    return n


def rate(files: List[bytes], f: Callable[[bytes], int], rounds: int) -> float:
    size = sum(len(x) for x in files)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for x in files:
            f(x)
        times.append(time.perf_counter() - t)
    return size / statistics.median(times) / 1e6


def dissect_rate(files: List[bytes], f: Callable[[bytes, Path], int], rounds: int) -> float:
    size = sum(len(x) for x in files)
    times = []
    for _ in range(rounds):
        work = Path(tempfile.mkdtemp())
        t = time.perf_counter()
        for i, x in enumerate(files):
            f(x, work / str(i))
        times.append(time.perf_counter() - t)
        shutil.rmtree(work)
    return size / statistics.median(times) / 1e6


def vm(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(l for l in status.splitlines() if l.startswith(field + ":")).split()[1]) * 1024


def peak(which: str, path: str) -> None:
    """Prints the process's resident set before the message is read (the interpreter and its
    modules) and its high-water mark after parsing and decoding every part."""
    fn = {"mailwright": mw_parse, "email-default": email_default, "email-compat32": email_compat32}[which]
    base = vm("VmRSS")
    data = Path(path).read_bytes()
    fn(data)
    # VmHWM, not ru_maxrss: the latter keeps the parent's high-water mark across exec.
    print(base, vm("VmHWM"))


def main() -> None:
    if sys.argv[1] == "--peak":
        peak(sys.argv[2], sys.argv[3])
        return
    args = sys.argv[1:]
    opts: Dict[str, str] = {}
    for flag in ("--json", "--large"):
        if flag in args:
            i = args.index(flag)
            opts[flag] = args[i + 1]
            del args[i : i + 2]
    root = Path(args[0])
    rounds = int(args[1]) if len(args) > 1 else 3
    report: Dict[str, Dict[str, float]] = {}
    for name in ("typical", "large"):
        paths = sorted((root / name).glob("*.eml"))
        if name == "large" and "--large" in opts:
            paths = paths[: int(opts["--large"])]
        files = [p.read_bytes() for p in paths]
        mb = sum(len(x) for x in files) / 1e6
        results: Dict[str, float] = {"mailwright": rate(files, mw_parse, rounds)}
        results["email policy=default"] = rate(files, email_default, rounds)
        results["email compat32"] = rate(files, email_compat32, rounds)
        if mailparser is not None:
            results["PyPI mail-parser"] = rate(files, pypi_mailparser, 1)
        print(f"parse + decode, {name} ({len(files)} messages, {mb:.0f} MB):")
        for k, v in results.items():
            ratio = results["mailwright"] / v
            print(f"  {k:22s} {v:8.1f} MB/s   mailwright is {ratio:5.1f}x")
        d_mw = dissect_rate(files, mw_dissect, rounds)
        d_email = dissect_rate(files, email_dissect, 1 if name == "typical" else rounds)
        print(f"  dissect to disk: mailwright {d_mw:.1f} MB/s, email policy=default {d_email:.1f} MB/s ({d_mw / d_email:.1f}x)")
        report[name] = {k: round(v, 1) for k, v in results.items()}
    big = root / "big-50mb.eml"
    size = big.stat().st_size
    for which in ("mailwright", "email-default", "email-compat32"):
        out = subprocess.run([sys.executable, __file__, "--peak", which, str(big)], capture_output=True, text=True, check=True)
        base, hwm = map(int, out.stdout.split())
        used = hwm - base
        print(
            f"peak memory on the {size / 1e6:.0f} MB message, {which}: {used / 2**20:.0f} MiB above the"
            f" interpreter ({used / size:.2f}x the message, input included); process peak {hwm / 2**20:.0f} MiB"
        )
        report.setdefault("peak_memory_x", {})[which] = round(used / size, 2)
    if "--json" in opts:
        Path(opts["--json"]).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
