"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_blocks_run(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has Python examples"
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        for code in blocks:
            exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    finally:
        os.chdir(old)
    assert (tmp_path / "out" / "report.pdf").read_bytes() == b"%PDF-1.4 ..."
