"""Benchmark figures: percentiles and the sections of docs/benchmarks.md each scenario owns."""

from __future__ import annotations

import json
import platform
import re
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
RAW = ROOT / "docs" / "benchmarks"


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no data."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    k = (len(data) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(data) - 1)
    return round(data[lo] + (data[hi] - data[lo]) * (k - lo), 1)


def summary(values: list[float]) -> dict:
    data = [v for v in values if v is not None]
    return {"n": len(data), "p50": percentile(data, 50), "p95": percentile(data, 95), "p99": percentile(data, 99),
            "min": min(data) if data else None, "max": max(data) if data else None}


def machine() -> str:
    import os

    return (f"{platform.machine()}, {os.cpu_count()} cores{cpu()}, Python {platform.python_version()}, "
            f"{date.today().isoformat()}")


def cpu() -> str:
    """The CPU's model and whether it has AVX-512 VNNI, e.g. " (AMD EPYC, AVX2 only)": sessions run on different
    machines, and the int8 models (Whisper's CTranslate2, Smart Turn's ONNX) ran ~3x slower without VNNI."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    model = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    listed = re.search(r"^flags\s*:\s*(.+)$", info, re.M)
    flags = set(listed.group(1).split()) if listed else set()
    simd = "AVX-512 VNNI" if "avx512_vnni" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    return f" ({model.group(1).strip()}, {simd})" if model else f" ({simd})"


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section between `<!-- bench:name -->` markers, leaving the others alone."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\nFigures written by `make bench`; medians and ratios, since this machine is shared and noisy.\n"
    block = f"<!-- bench:{name} -->\n{markdown.strip()}\n<!-- /bench:{name} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)


def load_raw(name: str) -> dict | None:
    """A scenario's stored figures (docs/benchmarks/<name>.json), or None before its first run."""
    path = RAW / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def save(name: str, data: dict, markdown: str) -> None:
    """A scenario's figures and table: its .json and .md in docs/benchmarks/, its section of docs/benchmarks.md."""
    write_raw(name, data)
    (RAW / f"{name}.md").write_text(markdown.strip() + "\n")
    write_section(name, markdown)


def write_raw(name: str, data: dict) -> Path:
    RAW.mkdir(parents=True, exist_ok=True)
    path = RAW / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path
