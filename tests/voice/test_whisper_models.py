"""Whisper base, shipped as two wheels, joined and checked into a model folder (calls/providers/stt/whisper_models.py).

The real parts assemble into a folder the engine loads and that understands a Piper caller over μ-law; a part that is
not the pinned one is refused before anything is written; an existing folder is verified, not trusted.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from calls.providers.stt import whisper_models  # noqa: E402
from calls.providers.stt.whisper_engine import WhisperEngine  # noqa: E402
from calls.providers.stt.whisper_models import ModelAssemblyError, SplitModel, assemble, is_assembled  # noqa: E402


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    dest = tmp_path_factory.mktemp("whisper-base")
    assert assemble("base", dest) is True
    return dest


def test_the_parts_join_into_the_pinned_files(base_dir):
    assert sorted(p.name for p in base_dir.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                          "vocabulary.json"]
    assert is_assembled("base", base_dir)
    assert assemble("base", base_dir) is False  # verified in place: nothing rewritten


def test_the_assembled_model_hears_a_piper_caller(base_dir):
    from bench import callwer

    engine = WhisperEngine(str(base_dir), cpu_threads=1)
    assert engine.model.model.is_multilingual  # base is multilingual: the engine pins English for it
    said = "Do you accept Delta Dental insurance?"
    # Piper's voice differs from one take to the next (its model samples noise), and base reads about one in six
    # as "Dalvedental" (2 word edits): a working model hears three takes, each within 2 edits, at least one within 1.
    # A broken one hears none of them.
    heard = [engine.transcribe(callwer.line_audio(said, "piper-joe", None, seed=take), 8000) for take in range(3)]
    edits = [callwer.edit_distance(callwer.normalise(said), callwer.normalise(text)) for text in heard]
    assert max(edits) <= 2 and min(edits) <= 1, heard


def test_a_damaged_file_is_found_and_replaced(tmp_path, base_dir):
    for f in base_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes()[:100_000] if f.name == "model.bin" else f.read_bytes())
    assert not is_assembled("base", tmp_path)
    assert assemble("base", tmp_path) is True and is_assembled("base", tmp_path)


def _package(root, name: str, files: dict[str, bytes]) -> None:
    (root / name / "data").mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    for file, data in files.items():
        (root / name / "data" / file).write_bytes(data)


def test_a_part_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
    import hashlib

    _package(tmp_path, "fake_whisper_part_1", {"model.bin.part1": b"abc"})
    _package(tmp_path, "fake_whisper_part_2", {"model.bin.part2": b"TAMPERED"})
    monkeypatch.syspath_prepend(str(tmp_path))
    pinned = hashlib.sha256(b"abcdef").hexdigest()
    monkeypatch.setitem(whisper_models.SPLIT_MODELS, "fake", SplitModel(
        packages=("fake_whisper_part_1", "fake_whisper_part_2"), sha256={"model.bin": pinned}))
    dest = tmp_path / "out"
    with pytest.raises(ModelAssemblyError, match="model.bin from .*part1.*part2.* has sha256"):
        assemble("fake", dest)
    assert not (dest / "model.bin").exists()
    (tmp_path / "fake_whisper_part_2" / "data" / "model.bin.part2").write_bytes(b"def")
    assert assemble("fake", dest) is True and (dest / "model.bin").read_bytes() == b"abcdef"


def test_a_missing_package_or_unknown_model_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setitem(whisper_models.SPLIT_MODELS, "gone", SplitModel(packages=("no_such_whisper_part",),
                                                                        sha256={"model.bin": "0"}))
    with pytest.raises(ModelAssemblyError, match="no_such_whisper_part is not installed"):
        assemble("gone", tmp_path)
    with pytest.raises(ModelAssemblyError, match="unknown model 'large'"):
        assemble("large", tmp_path)
