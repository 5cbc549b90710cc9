"""A realtime call in one process: the real session and SDK client against the fake Realtime server, a carrier
that plays what it is sent in real time (echoing marks as it plays), and a cascade of scripted parts to fall back
to."""

from __future__ import annotations

from calls.pipeline.ports import CallControl
from calls.providers.base import STTStream
from calls.providers.realtime.brain import RealtimeBrain
from calls.providers.realtime.config import RealtimeConfig
from calls.session.call_session import CallSession
from calls.session.realtime_session import RealtimeCallSession
from calls.session.settings import AgentSettings
from tests.session.helpers import WordTTS, line_from_the_start
from voicebot.testing.in_process import RATE, HexSerializer, KeepingRecorder, PlayingCarrier, ScriptBrain


class ScriptSTT(STTStream):
    """Transcribes each caller turn as the next of `texts`."""

    name = "script-stt"

    def __init__(self, texts: list[str]) -> None:
        super().__init__(RATE)
        self.texts = list(texts)

    def send_audio(self, pcm: bytes) -> None:
        pass

    async def transcript(self) -> str:
        return self.texts[0] if self.texts else ""  # asked again (speculatively) until the turn is committed

    def commit(self) -> None:
        if self.texts:
            self.texts.pop(0)


class Control(CallControl):
    """The carrier's REST side: remembers transfers and hang-ups (or refuses transfers with `refuse`)."""

    def __init__(self, refuse: bool = False) -> None:
        self.transfers: list[tuple[str, str, str]] = []
        self.hang_ups: list[str] = []
        self.refuse = refuse

    async def hang_up(self, call_id: str) -> None:
        self.hang_ups.append(call_id)

    async def transfer(self, call_id: str, target: str, summary: str = "", options=None) -> None:
        if self.refuse:
            raise RuntimeError("the carrier refused the transfer")
        self.transfers.append((call_id, target, summary))


class Call:
    """One call: `session` (realtime), `carrier`, `recorder`; `cascades` holds what the fallback built (with the
    conversation it was handed)."""

    def __init__(self, *, config: RealtimeConfig | None = None, settings: AgentSettings | None = None,
                 cascade_texts: list[str] | None = None, codec: str = "PCMU", control=None, rate: int = RATE) -> None:
        """`rate`: the stream's (the in-process carrier plays 320 bytes every 20 ms whatever the rate: a 16 kHz
        stream plays at half speed, which only delays its marks)."""
        self.carrier = PlayingCarrier()
        self.recorder = KeepingRecorder()
        self.closed = False
        self.frame = rate * 2 // 50
        self.cascades: list[tuple[list[dict], bool, CallSession]] = []
        self.control = control
        self._cascade_texts = cascade_texts or []
        self.brain = RealtimeBrain(config or RealtimeConfig(greeting="Hello, this is Sam."))
        self.settings = settings or AgentSettings(barge_in_min_ms=200, silence_timeout_s=60)
        self.session = RealtimeCallSession(
            call_id="CA-realtime", settings=self.settings, brain=self.brain, serializer=HexSerializer(),
            send=self.carrier.send, close=self._close, recorder=self.recorder, sample_rate=rate, codec=codec,
            cascade=self._cascade, control=control,
        )
        self.carrier.playout = self  # marks come back through the session, as the consumer routes them

    def on_mark(self, name: str) -> None:
        self.session.on_mark(name)

    async def _close(self) -> None:
        self.closed = True

    async def _cascade(self, history: list[dict], greeted: bool) -> CallSession:
        brain = ScriptBrain(greeting="Hello from the cascade.", answer="The cascade answers.")
        session = CallSession(
            call_id="CA-realtime", settings=self.settings, serializer=HexSerializer(), send=self.carrier.send,
            close=self._close, stt=ScriptSTT(self._cascade_texts), tts=WordTTS(), brain=brain,
            recorder=self.recorder, sample_rate=RATE, control=self.control, resumed=greeted)
        self.cascades.append((history, greeted, session))
        return session

    async def start(self) -> None:
        self.carrier.start()
        await self.session.start()
        line_from_the_start(self.session)

    async def stop(self) -> None:
        await self.session.stop()
        await self.carrier.stop()

    def say(self, pcm: bytes) -> None:
        """Caller audio in 20 ms frames, as fast as given (use `speak` for real time)."""
        for off in range(0, len(pcm), self.frame):
            self.session.on_audio(pcm[off : off + self.frame])

    async def speak(self, pcm: bytes) -> None:
        """Caller audio in real time, 20 ms a frame, as a carrier sends it."""
        import asyncio

        loop = asyncio.get_running_loop()
        next_at = loop.time()
        for off in range(0, len(pcm), self.frame):
            self.session.on_audio(pcm[off : off + self.frame])
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def kinds(self) -> list[str]:
        return self.recorder.kinds()

    def turns(self, role: str) -> list:
        return [t for t in self.recorder.turns if t.role == role]
