"""A ctypes binding to the libespeak-ng shipped inside the `espeakng-loader` wheel.

No subprocess, no system package: the shared library and its `espeak-ng-data` folder both come from the wheel.
libespeak-ng keeps global state (current voice, parameters, one synth callback) and is not thread-safe, so the
process holds exactly one engine (`get_espeak()`) and every synthesis runs under one lock. A 10-word sentence
takes a few tens of milliseconds, so the lock is never held for long.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from dataclasses import dataclass

from calls.providers.base import ProviderError

log = logging.getLogger(__name__)

# espeak_AUDIO_OUTPUT
AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_Initialize options: without DONT_EXIT a missing data folder makes the library call exit(1).
_INITIALIZE_DONT_EXIT = 0x8000
# espeak_POSITION_TYPE
_POS_CHARACTER = 1
# espeak_Synth flags
_CHARS_UTF8 = 1
# espeak_PARAMETER
_RATE = 1
_VOLUME = 2
_PITCH = 3
# espeak_ERROR
_EE_OK = 0

_DEFAULT_PITCH = 50
_MIN_RATE, _MAX_RATE = 80, 450

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _EspeakVoice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # priority byte, then a NUL-terminated language name, repeated
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    name: str
    identifier: str
    languages: tuple[str, ...]
    gender: str


class EspeakEngine:
    """One initialised libespeak-ng. Use `get_espeak()` rather than building one."""

    def __init__(self, library_path: str | None = None, data_path: str | None = None) -> None:
        try:
            import espeakng_loader

            library_path = library_path or espeakng_loader.get_library_path()
            data_path = data_path or espeakng_loader.get_data_path()
            lib = ctypes.CDLL(library_path)
        except (ImportError, OSError, RuntimeError) as exc:
            raise ProviderError(f"cannot load libespeak-ng: {exc}", provider="espeak", permanent=True) from exc

        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_EspeakVoice)]
        lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,  # text
            ctypes.c_size_t,  # size
            ctypes.c_uint,  # position
            ctypes.c_int,  # position_type
            ctypes.c_uint,  # end_position
            ctypes.c_uint,  # flags
            ctypes.POINTER(ctypes.c_uint),  # unique_identifier
            ctypes.c_void_p,  # user_data
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))

        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise ProviderError(
                f"espeak_Initialize failed ({rate}) with data path {data_path}", provider="espeak", permanent=True
            )
        self.sample_rate: int = rate
        self._lib = lib
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        # Keep a reference: ctypes would otherwise free the trampoline while C still holds it.
        self._callback = _SYNTH_CALLBACK(self._on_samples)
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        self._rate: int | None = None
        self._pitch: int | None = None
        self._languages: set[str] | None = None

    def _on_samples(self, wav, numsamples, events) -> int:  # noqa: ANN001 - ctypes signature
        if numsamples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0  # 0 = go on

    def synthesize(
        self, text: str, voice: str = "en-us", rate_wpm: int = 175, pitch: int | None = None
    ) -> tuple[bytes, int]:
        """Speak `text`; return (PCM16LE mono, its sample rate). Blocking: run it in a thread from async code."""
        text = text.strip()
        if not text:
            return b"", self.sample_rate
        data = text.encode("utf-8", "replace") + b"\0"
        rate_wpm = max(_MIN_RATE, min(_MAX_RATE, int(rate_wpm)))
        pitch = _DEFAULT_PITCH if pitch is None else max(0, min(100, int(pitch)))
        with self._lock:
            if voice != self._voice:
                err = self._set_voice(voice)
                if err != _EE_OK:
                    self._voice = None
                    raise ProviderError(
                        f"espeak has no voice {voice!r} (error {err})", provider="espeak", permanent=True
                    )
                # Selecting a voice resets rate and pitch to the voice's own.
                self._voice, self._rate, self._pitch = voice, None, None
            if rate_wpm != self._rate:
                self._lib.espeak_SetParameter(_RATE, rate_wpm, 0)
                self._rate = rate_wpm
            if pitch != self._pitch:
                self._lib.espeak_SetParameter(_PITCH, pitch, 0)
                self._pitch = pitch
            self._chunks = []
            try:
                err = self._lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
                if err != _EE_OK:
                    raise ProviderError(f"espeak_Synth failed ({err})", provider="espeak")
                self._lib.espeak_Synchronize()
                pcm = b"".join(self._chunks)
            finally:
                self._chunks = []
        return pcm, self.sample_rate

    def _set_voice(self, voice: str) -> int:
        """By voice file name ("en-us", "gmw/en-GB-x-rp") or name; else as a language ("en-gb") by properties."""
        err = self._lib.espeak_SetVoiceByName(voice.encode())
        if err == _EE_OK:
            return err
        if self._languages is None:
            self._languages = {lang.lower() for v in self._list_voices() for lang in v.languages}
        if voice.lower() not in self._languages:
            return err  # SetVoiceByProperties would silently fall back to some other voice
        lang = ctypes.create_string_buffer(voice.encode())
        spec = _EspeakVoice(languages=ctypes.cast(lang, ctypes.c_void_p).value)
        return self._lib.espeak_SetVoiceByProperties(ctypes.byref(spec))

    def list_voices(self) -> list[VoiceInfo]:
        with self._lock:
            return self._list_voices()

    def _list_voices(self) -> list[VoiceInfo]:
        arr = self._lib.espeak_ListVoices(None)
        out: list[VoiceInfo] = []
        i = 0
        while arr and arr[i]:
            v = arr[i].contents
            out.append(
                VoiceInfo(
                    name=(v.name or b"").decode(errors="replace"),
                    identifier=(v.identifier or b"").decode(errors="replace"),
                    languages=_parse_languages(v.languages),
                    gender={1: "male", 2: "female"}.get(v.gender, ""),
                )
            )
            i += 1
        return out


def _parse_languages(addr: int | None) -> tuple[str, ...]:
    """`languages` is a list of (priority byte, NUL-terminated name), ended by a zero priority byte."""
    if not addr:
        return ()
    langs: list[str] = []
    while True:
        if ctypes.string_at(addr, 1) == b"\0":
            break
        name = ctypes.string_at(addr + 1)
        langs.append(name.decode(errors="replace"))
        addr += 1 + len(name) + 1
    return tuple(langs)


_engine: EspeakEngine | None = None
_engine_lock = threading.Lock()


def get_espeak() -> EspeakEngine:
    """The process-wide engine, initialised on first use."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = EspeakEngine()
    return _engine


def synthesize(text: str, voice: str = "en-us", rate_wpm: int = 175, pitch: int | None = None) -> tuple[bytes, int]:
    """Module-level shortcut for `get_espeak().synthesize(...)`."""
    return get_espeak().synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch)


def list_voices() -> list[VoiceInfo]:
    return get_espeak().list_voices()
