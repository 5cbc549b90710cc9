"""A minimal Pipecat (pipecat-ai 1.14) phone bot for the side-by-side benchmark. Bench only; runs in its own venv.

    bench/.venv-pipecat/bin/python bench/pipecat_bot.py --fd N      # or --port P

Built the way Pipecat's Twilio examples are: FastAPI + uvicorn, `FastAPIWebsocketTransport` with its
`TwilioFrameSerializer`, Pipecat's default Silero VAD (`SileroVADAnalyzer()`, VADParams defaults: start 0.2 s,
stop 0.2 s; the ONNX model ships inside pipecat-ai, nothing is downloaded), `LLMContextAggregatorPair`, and
synthetic STT / LLM / TTS services with the same latencies as voicebot's (bench/synthetic.py):

- STT: a finalized `TranscriptionFrame` 100 ms after the caller's true last voiced frame (the same "last frame
  holding a non-zero sample" detector, on the same prepared caller audio);
- LLM: first text 200 ms after the context frame, the first sentence whole;
- TTS: the sentence's audio 150 ms after the request.

Turn-taking: Pipecat 1.14's default stop strategy runs the Smart Turn v3 model after the VAD stop; we give it its
fastest stock strategy instead, `SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0)`: the turn ends at the
VAD stop once the (already finalized) transcript is in — so Pipecat's turn latency is VAD stop + 350 ms + framework.

It must not phone home: the serializer gets no Twilio credentials and `auto_hang_up=False` (no REST call when the
pipeline ends). The voice webhook answers TwiML with `<Connect><Stream>` to /ws without checking signatures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import sys
import time

os.environ.setdefault("PIPECAT_NO_TELEMETRY", "1")

import uvicorn  # noqa: E402
from fastapi import FastAPI, WebSocket  # noqa: E402
from fastapi.responses import PlainTextResponse, Response  # noqa: E402
from loguru import logger  # noqa: E402

from pipecat.audio.vad.silero import SileroVADAnalyzer  # noqa: E402
from pipecat.frames.frames import (  # noqa: E402
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.runner import PipelineRunner  # noqa: E402
from pipecat.pipeline.task import PipelineParams, PipelineTask  # noqa: E402
from pipecat.processors.aggregators.llm_context import LLMContext  # noqa: E402
from pipecat.processors.aggregators.llm_response_universal import (  # noqa: E402
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection  # noqa: E402
from pipecat.serializers.twilio import TwilioFrameSerializer  # noqa: E402
from pipecat.services.llm_service import LLMService  # noqa: E402
from pipecat.services.stt_service import STTService  # noqa: E402
from pipecat.services.tts_service import TTSService  # noqa: E402
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport  # noqa: E402
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (  # noqa: E402
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies  # noqa: E402
from pipecat.utils.time import time_now_iso8601  # noqa: E402

RATE = 8000
FINAL_S, FIRST_TOKEN_S, FIRST_AUDIO_S = 0.100, 0.200, 0.150
GREETING = "Hello, thanks for calling."
REPLY = ["Sure, I can help you with that. ", "Let me check the calendar for tomorrow morning. ", "One moment please."]
MS_PER_CHAR = 55  # as bench/synthetic.py

logger.remove()
logger.add(sys.stderr, level=os.environ.get("PIPECAT_BENCH_LOG", "WARNING"))


def _tone(seconds: int = 20) -> bytes:
    import numpy as np

    t = np.arange(RATE * seconds) / RATE
    wave = 0.25 * np.sin(2 * math.pi * 220 * t) + 0.15 * np.sin(2 * math.pi * 660 * t)
    return (wave * 32767).astype("<i2").tobytes()


TONE = _tone()


class SyntheticSTT(STTService):
    """Final transcript 100 ms after the last frame holding a non-zero sample (the caller's true end of speech)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._last_voiced = 0.0
        self._voiced = False
        self._timer: asyncio.TimerHandle | None = None

    async def run_stt(self, audio: bytes):
        if audio.count(0) != len(audio):
            self._last_voiced = time.monotonic()
            self._voiced = True
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(FINAL_S, self._check_end)
        yield None

    def _check_end(self) -> None:
        self._timer = None
        due = self._last_voiced + FINAL_S
        now = time.monotonic()
        if now < due - 0.0005:
            self._timer = asyncio.get_running_loop().call_later(due - now, self._check_end)
            return
        if self._voiced:
            self._voiced = False
            frame = TranscriptionFrame("I would like to book an appointment for tomorrow", "caller",
                                       time_now_iso8601(), finalized=True)
            asyncio.get_running_loop().create_task(self.push_frame(frame))


class SyntheticLLM(LLMService):
    """First text 200 ms after the context arrives; the first sentence whole, then the rest."""

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self.push_frame(LLMFullResponseStartFrame())
            try:
                await asyncio.sleep(FIRST_TOKEN_S)
                for part in REPLY:
                    await self.push_frame(LLMTextFrame(part))
            finally:
                await self.push_frame(LLMFullResponseEndFrame())
        else:
            await self.push_frame(frame, direction)


class SyntheticTTS(TTSService):
    """A sentence's audio 150 ms after the request."""

    def __init__(self, **kwargs) -> None:
        super().__init__(sample_rate=RATE, push_start_frame=True, push_stop_frames=True, **kwargs)

    def can_generate_metrics(self) -> bool:
        return False

    async def run_tts(self, text: str, context_id: str):
        await asyncio.sleep(FIRST_AUDIO_S)
        n = min(len(TONE), RATE * 2 * MS_PER_CHAR * max(1, len(text)) // 1000) & ~1
        yield TTSAudioRawFrame(audio=TONE[:n], sample_rate=RATE, num_channels=1, context_id=context_id)


app = FastAPI()


@app.get("/healthz")
async def healthz():
    return PlainTextResponse("ok")


@app.post("/twilio/voice")
async def voice():
    public = os.environ.get("PIPECAT_BENCH_PUBLIC_URL", "http://127.0.0.1:8765").replace("http://", "ws://")
    twiml = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="{public}/ws">'
             f'<Parameter name="token" value="none"/></Stream></Connect></Response>')
    return Response(twiml, media_type="application/xml")


@app.websocket("/ws")
async def media(websocket: WebSocket):
    await websocket.accept()
    messages = websocket.iter_text()
    start = None
    while start is None:  # Twilio sends "connected", then "start"
        msg = json.loads(await anext(messages))
        if msg.get("event") == "start":
            start = msg["start"]
    serializer = TwilioFrameSerializer(
        stream_sid=start["streamSid"], call_sid=start.get("callSid"),
        params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
    )
    transport = FastAPIWebsocketTransport(websocket, FastAPIWebsocketParams(
        audio_in_enabled=True, audio_out_enabled=True, add_wav_header=False, serializer=serializer))
    context = LLMContext(messages=[{"role": "system", "content": "You are a dental receptionist."}])
    aggregators = LLMContextAggregatorPair(context, user_params=LLMUserAggregatorParams(
        vad_analyzer=SileroVADAnalyzer(),
        user_turn_strategies=UserTurnStrategies(stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0.0)]),
    ))
    pipeline = Pipeline([transport.input(), SyntheticSTT(), aggregators.user(), SyntheticLLM(), SyntheticTTS(),
                         transport.output(), aggregators.assistant()])
    task = PipelineTask(pipeline, params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE))

    @transport.event_handler("on_client_disconnected")
    async def _gone(_transport, _client):
        await task.cancel()

    await task.queue_frames([TTSSpeakFrame(GREETING)])
    await PipelineRunner(handle_sigint=False).run(task)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    config = uvicorn.Config(app, loop="uvloop", ws="websockets-sansio", lifespan="off", access_log=False,
                            log_level="warning")
    server = uvicorn.Server(config)
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
    else:
        sock = socket.create_server(("127.0.0.1", args.port))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
