"""Benchmarks: suites of models × targets, measured side by side, reported as JSON, Markdown and HTML."""

from __future__ import annotations

import json
from pathlib import Path

from edgeai.bench.gate import regressions
from edgeai.bench.runner import run_suite
from edgeai.bench.suite import Suite, load_suite


def write_reports(data: dict, out_dir: str | Path) -> dict[str, Path]:
    from edgeai.bench.report import html, markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n")  # JSON first: machines and the CI gate read it
    paths["markdown"].write_text(markdown(data))
    paths["html"].write_text(html(data))
    return paths


__all__ = ["Suite", "load_suite", "regressions", "run_suite", "write_reports"]
