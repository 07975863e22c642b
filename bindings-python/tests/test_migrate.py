"""migrate between the old and new Dovecot of scripts/mail-servers: a copy with progress
events, a rerun that copies nothing, the proof on its own, and bad settings refused."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

import mailwright
from conftest import CA, need_server

OLD = "/etc/mailwright-test/dovecot-mig-old.conf"


@pytest.fixture
def servers() -> None:
    need_server("127.0.4.1", 993, "Dovecot (old)")
    need_server("127.0.4.2", 993, "Dovecot (new)")


def users(tmp_path: Path, n: int) -> Path:
    run = f"py{os.getpid()}x{time.time_ns()}"
    lines = []
    for i in range(n):
        source = f"{run}u{i}@example.test"
        for k in range(3):
            raw = f"From: a@example.test\r\nTo: {source}\r\nSubject: py {k}\r\n\r\nbody {k}\r\n".encode()
            subprocess.run(["doveadm", "-c", OLD, "save", "-u", source, "-m", "INBOX"], input=raw, check=True)
        subprocess.run(["doveadm", "-c", OLD, "flags", "add", "-u", source, "\\Seen $Label1", "mailbox", "INBOX", "1"], check=True)
        lines.append(f"{source},oldpw,{run}n{i}@example.test,newpw\n")
    path = tmp_path / "users.csv"
    path.write_text("".join(lines))
    path.chmod(0o600)
    return path


def test_migrate_copies_proves_and_reruns_nothing(servers: None, tmp_path: Path) -> None:
    file = users(tmp_path, 2)
    events: List[Dict[str, Any]] = []
    kw: Dict[str, Any] = {"users": file, "state": tmp_path / "state", "ca_file": CA, "jobs": 2}
    report = mailwright.migrate("imaps://127.0.4.1", "imaps://127.0.4.2", progress=events.append, **kw)
    assert report["exit_code"] == 0, report
    assert report["copied"] == 6
    assert [m["status"] for m in report["mailboxes"]] == ["ok", "ok"]
    assert all(m["verify"]["missing"] == 0 and m["verify"]["flag_mismatches"] == 0 for m in report["mailboxes"])
    kinds = {e["event"] for e in events}
    assert {"started", "progress", "mailbox"} <= kinds, kinds
    assert sum(e["messages"] for e in events if e["event"] == "progress") == 6

    again = mailwright.migrate("imaps://127.0.4.1", "imaps://127.0.4.2", verify=False, **kw)
    assert (again["exit_code"], again["copied"]) == (0, 0)
    proof = mailwright.migrate("imaps://127.0.4.1", "imaps://127.0.4.2", verify_only=True, **kw)
    assert proof["exit_code"] == 0 and all(m["verify"]["source"] == 3 for m in proof["mailboxes"])


def test_migrate_refuses_bad_settings_and_readable_users_files(tmp_path: Path) -> None:
    file = tmp_path / "users.csv"
    file.write_text("a,pw,b,pw\n")
    file.chmod(0o600)
    with pytest.raises(ValueError):
        mailwright.migrate("http://old", "imaps://new", users=file)
    with pytest.raises(ValueError):
        mailwright.migrate("imaps://old", "imaps://new", users=file, jobs=0)
    file.chmod(0o644)
    with pytest.raises(ValueError) as e:
        mailwright.migrate("imaps://old", "imaps://new", users=file)
    assert "chmod 600" in str(e.value)


def test_migrate_between_maildirs_needs_no_server(tmp_path: Path) -> None:
    src = tmp_path / "src" / "ann"
    for sub in ("cur", "new", "tmp"):
        (src / sub).mkdir(parents=True)
    (src / "cur" / "1.a.host:2,S").write_bytes(b"Subject: one\r\n\r\n1\r\n")
    (src / "new" / "2.b.host").write_bytes(b"Subject: two\r\n\r\n2\r\n")
    file = tmp_path / "users.csv"
    file.write_text("ann@x.test,,ann@y.test,\n")
    file.chmod(0o600)
    kw: Dict[str, Any] = {"users": file, "state": tmp_path / "state"}
    report = mailwright.migrate(f"maildir:{tmp_path}/src/%n", f"maildir:{tmp_path}/out/%n", **kw)
    assert (report["exit_code"], report["copied"]) == (0, 2), report
    names = sorted(p.name for p in (tmp_path / "out" / "ann" / "cur").iterdir())
    assert len(names) == 2 and sum(n.endswith(":2,S") for n in names) == 1, names
    again = mailwright.migrate(f"maildir:{tmp_path}/src/%n", f"maildir:{tmp_path}/out/%n", **kw)
    assert (again["exit_code"], again["copied"]) == (0, 0)
