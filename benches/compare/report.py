"""Turns the JSON results of benches/compare/run into benches/results/comparison.md (tables) and
benches/results/comparison.svg (mailwright's speed over the fastest competitor, per comparison).

    python3 benches/compare/report.py RESULTS_DIR OUT_DIR "machine and run description"
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

Row = Tuple[str, str, Dict[str, float], str, str]  # title, unit, figures, ours, note

LABELS = {
    "mw_batch": "mailwright send_batch, one connection",
    "mw_reuse": "mailwright, one connection",
    "mw_new": "mailwright, connection per message",
    "py_reuse": "Python smtplib, one connection",
    "py_new": "Python smtplib, connection per message",
    "node_pool": "nodemailer, one pooled connection",
    "node_new": "nodemailer, connection per message",
    "lettre_reuse": "lettre, one pooled connection",
    "lettre_new": "lettre, connection per message",
    "src_reuse": "smtp-source (C), one connection",
    "src_new": "smtp-source (C), connection per message",
    "mailwright_lib": "mailwright (library, one process)",
    "mailwright_cli": "mailwright CLI (process per file)",
    "ripmime": "ripmime (process per file)",
    "munpack": "munpack (process per file)",
}


def load(d: Path, name: str) -> Optional[Dict]:
    p = d / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def rows(d: Path) -> List[Row]:
    out: List[Row] = []
    rust = load(d, "rust")
    if rust:
        for s in ("typical", "large"):
            out.append((f"Rust: parse + decode, {s}", "MB/s", rust[s], "mailwright", "crates mail-parser 0.11 and mailparse 0.16"))
    py = load(d, "python")
    if py:
        for s in ("typical", "large"):
            out.append((f"Python: parse + decode, {s}", "MB/s", py[s], "mailwright", "email (stdlib) and PyPI mail-parser"))
    node = load(d, "node")
    if node:
        for s in ("typical", "large", "real-world"):
            if s in node["parse"]:
                out.append((f"Node: parse + decode, {s}", "MB/s", node["parse"][s], "mailwright", "postal-mime, mailparser"))
        if node.get("send"):
            one = {k: v for k, v in node["send"].items() if "1 connection" in k}
            four = {k: v for k, v in node["send"].items() if "4 connections" in k}
            out.append(("Node: send 20 KB messages, one connection", "msg/s", one, "mailwright, 1 connection", "nodemailer"))
            out.append(("Node: send 20 KB messages, four connections", "msg/s", four, "mailwright, 4 connections", "nodemailer"))
    dis = load(d, "dissect")
    if dis:
        out.append(("Dissect the large set to disk", "MB/s", {LABELS[k]: v for k, v in dis.items()}, LABELS["mailwright_lib"], "ripmime, munpack"))
    send = load(d, "send")
    if send:
        reuse = {LABELS[k]: v for k, v in send.items() if k.endswith(("_reuse", "_pool", "_batch"))}
        new = {LABELS[k]: v for k, v in send.items() if k.endswith("_new")}
        out.append(("Send 20 KB messages to smtp-sink, one connection", "msg/s", reuse, LABELS["mw_batch"], "smtplib, nodemailer, lettre, smtp-source"))
        out.append(("Send 20 KB messages to smtp-sink, connection per message", "msg/s", new, LABELS["mw_new"], "smtplib, nodemailer, lettre, smtp-source"))
    return out


def is_ours(name: str) -> bool:
    return name.startswith("mailwright")


def ratio(figs: Dict[str, float], ours: str) -> Tuple[float, str]:
    rivals = {k: v for k, v in figs.items() if not is_ours(k) and v}
    best = max(rivals, key=lambda k: rivals[k])
    return figs[ours] / rivals[best], best


def markdown(rs: List[Row], about: str) -> str:
    lines = ["# mailwright against the tools it competes with", "", about, ""]
    lines += ["| comparison | mailwright | fastest competitor | ratio |", "|---|---|---|---|"]
    for title, unit, figs, ours, _ in rs:
        r, best = ratio(figs, ours)
        lines.append(f"| {title} | {figs[ours]:,.1f} {unit} | {best}: {figs[best]:,.1f} {unit} | {r:.2f}x |")
    for title, unit, figs, ours, note in rs:
        lines += ["", f"## {title}", "", f"Competitors: {note}.", "", f"| tool | {unit} | mailwright ({ours}) is |", "|---|---|---|"]
        for k, v in sorted(figs.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {k} | {v:,.1f} | {figs[ours] / v:.2f}x |" if v else f"| {k} | — | — |")
    return "\n".join(lines) + "\n"


def svg(rs: List[Row]) -> str:
    bar_h, gap, left, width = 22, 10, 390, 360
    ratios = [(t, *ratio(f, o)) for t, _, f, o, _ in rs]
    top = max(max(r for _, r, _ in ratios), 1.0)
    scale = width / top
    h = 60 + len(ratios) * (bar_h + gap) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 300}" height="{h}" font-family="sans-serif" font-size="12">',
        f'<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">mailwright speed ÷ fastest competitor (same machine, same run)</text>',
    ]
    y0 = 45
    one = left + scale * 1.0
    for i, (title, r, best) in enumerate(ratios):
        y = y0 + i * (bar_h + gap)
        color = "#2a7ab9" if r >= 1 else "#c0504d"
        out.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.0f}" text-anchor="end">{html.escape(title)}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{max(r * scale, 1):.1f}" height="{bar_h}" fill="{color}"/>')
        out.append(f'<text x="{left + r * scale + 6:.1f}" y="{y + bar_h * 0.7:.0f}">{r:.2f}x vs {html.escape(best)}</text>')
    out.append(f'<line x1="{one:.1f}" y1="{y0 - 6}" x2="{one:.1f}" y2="{h - 30}" stroke="#444" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{one:.1f}" y="{h - 14}" text-anchor="middle">1x</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    src, dest, about = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    rs = rows(src)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "comparison.md").write_text(markdown(rs, about), encoding="utf-8")
    (dest / "comparison.svg").write_text(svg(rs), encoding="utf-8")
    for p in sorted(src.glob("*.json")):
        (dest / p.name).write_text(p.read_text())
    print(markdown(rs, about))


if __name__ == "__main__":
    main()
