"""`ElevenLabsTTS`: ElevenLabs speech (elevenlabs 2.x) behind `TTSProvider`.

Two transports, chosen by the agent's `provider_options["tts"]["transport"]`:

- "websocket" (default): input streaming on our own socket, with a spare socket opened ahead of need
  (`elevenlabs_ws.py`);
- "http": the SDK's `AsyncElevenLabs().text_to_speech.stream(...)` — one streamed POST per sentence. Simpler, and
  the connection pool keeps TLS warm, but each sentence pays the request's model start-up.

Audio is requested as `pcm_<rate>` at the session's own rate (8 or 16 kHz), so nothing is resampled; the session
wants PCM16LE, which is what ElevenLabs' pcm formats are.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx

from calls.languages import Language, language_or_none

from ..base import ProviderError, TTSProvider
from ..cloud import base_url, ms_since, require_key, websocket_url
from .elevenlabs_ws import StreamInputTransport
from .pcm_align import PcmAligner

PROVIDER = "elevenlabs"
DEFAULT_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"  # "Rachel", one of ElevenLabs' premade voices
DEFAULT_MODEL = "eleven_flash_v2_5"  # lowest first-audio latency (~75 ms model time); 32 languages
# English-only models and the multilingual model of the same speed class an agent in another language gets.
MULTILINGUAL_OF = {"eleven_flash_v2": "eleven_flash_v2_5", "eleven_turbo_v2": "eleven_turbo_v2_5",
                   "eleven_monolingual_v1": "eleven_multilingual_v2"}
# Only these take `language_code` (the others infer the language from the text; a code makes them answer 400).
TAKES_LANGUAGE_CODE = frozenset({"eleven_flash_v2_5", "eleven_turbo_v2_5"})
PCM_RATES = {8000, 16000, 22050, 24000, 44100, 48000}
_VOICE_ID = re.compile(r"^[A-Za-z0-9]{20}$")


class ElevenLabsTTS(TTSProvider):
    """Options: transport ("websocket" | "http"), voice_id, model_id, base_url, voice_settings (dict),
    connect_timeout_s, recv_timeout_s, keepalive_s, inactivity_timeout_s, timeout_s (http), language (the
    agent's: an English-only model is swapped for its multilingual peer, and v2.5 models get `language_code`)."""

    name = PROVIDER

    def __init__(self, sample_rate: int, voice: str = "", options: dict | None = None) -> None:
        super().__init__(sample_rate, voice, options)
        o = self.options
        # Agent.voice defaults to an espeak voice name ("en-us"); only a real ElevenLabs voice id is used as one.
        self.voice_id = o.get("voice_id") or (voice if _VOICE_ID.match(voice or "") else DEFAULT_VOICE_ID)
        lang = language_or_none(o.get("language"))
        self.model_id = model_for_language(o.get("model_id", DEFAULT_MODEL), lang)
        #: ISO 639-1 code sent as `language_code` (None: the model infers it, or the model takes none).
        self.language_code = lang.primary if lang is not None and self.model_id in TAKES_LANGUAGE_CODE else None
        self.transport_name = o.get("transport", "websocket")
        self.last_ttfb_ms: float | None = None
        self._transport: StreamInputTransport | _HttpTransport | None = None

    async def start(self) -> None:
        key = require_key("ELEVENLABS_API_KEY", PROVIDER)
        if self.sample_rate not in PCM_RATES:
            raise ProviderError(f"no pcm output at {self.sample_rate} Hz", provider=PROVIDER, permanent=True)
        http = base_url(self.options, "ELEVENLABS_BASE_URL", "https://api.elevenlabs.io")
        o = self.options
        if self.transport_name == "http":
            self._transport = _HttpTransport(http, key, self.voice_id, self.model_id, self.sample_rate,
                                             float(o.get("timeout_s", 5.0)), self.language_code)
            return
        query = urlencode({
            "model_id": self.model_id,
            **({"language_code": self.language_code} if self.language_code else {}),
            "output_format": f"pcm_{self.sample_rate}",
            "inactivity_timeout": int(o.get("inactivity_timeout_s", 60)),
        })
        url = f"{websocket_url(http)}/v1/text-to-speech/{self.voice_id}/stream-input?{query}"
        init = {"voice_settings": o["voice_settings"]} if o.get("voice_settings") else {}
        self._transport = StreamInputTransport(
            url, key, init,
            connect_timeout_s=float(o.get("connect_timeout_s", 2.0)),
            recv_timeout_s=float(o.get("recv_timeout_s", 5.0)),
            keepalive_s=float(o.get("keepalive_s", 15.0)),
        )
        await self._transport.start()

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        if self._transport is None:
            raise ProviderError("synthesize() before start()", provider=PROVIDER)
        started = time.monotonic()
        first = True
        # aclosing: when the session drops this sentence (barge-in), the transport's socket/response closes now,
        # not whenever the garbage collector gets to it.
        async with contextlib.aclosing(self._transport.synthesize(text)) as chunks:
            async for pcm in chunks:
                if first:
                    first = False
                    self.last_ttfb_ms = ms_since(started)
                yield pcm

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
            self._transport = None


def model_for_language(model_id: str, lang: Language | None) -> str:
    """`model_id`, or its multilingual peer when it is English-only and the agent speaks another language."""
    if lang is None or lang.is_english:
        return model_id
    return MULTILINGUAL_OF.get(model_id, model_id)


class _HttpTransport:
    """One streamed POST per sentence through the SDK (`text_to_speech.stream`)."""

    def __init__(self, base: str, key: str, voice_id: str, model_id: str, rate: int, timeout_s: float,
                 language_code: str | None = None) -> None:
        from elevenlabs.client import AsyncElevenLabs

        # Our own httpx client, so the call can close its connections (the SDK's default client is never closed).
        self._http = httpx.AsyncClient(timeout=timeout_s)
        self.client = AsyncElevenLabs(api_key=key, base_url=base, timeout=timeout_s, httpx_client=self._http)
        self.voice_id, self.model_id, self.rate, self.timeout_s = voice_id, model_id, rate, timeout_s
        self.language = {"language_code": language_code} if language_code else {}

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        from elevenlabs.core.api_error import ApiError

        stream = self.client.text_to_speech.stream(
            self.voice_id, text=text, model_id=self.model_id, output_format=f"pcm_{self.rate}", **self.language,
            # No retries: a retry after a failure costs more silence than the fallback voice.
            request_options={"max_retries": 0, "timeout_in_seconds": self.timeout_s},
        )
        aligner = PcmAligner()
        try:
            async with contextlib.aclosing(stream) as chunks:
                async for chunk in chunks:
                    pcm = aligner.feed(chunk)
                    if pcm:
                        yield pcm
        except ApiError as exc:
            status = exc.status_code or 0
            permanent = status in (400, 401, 403, 404, 422)  # bad key, voice or request: retrying cannot help
            raise ProviderError(f"HTTP {status}", provider=PROVIDER, permanent=permanent) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"stream failed: {exc!r}", provider=PROVIDER) from exc

    async def close(self) -> None:
        await self._http.aclose()
