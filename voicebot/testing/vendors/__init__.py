"""Local servers that speak the vendors' wire protocols on 127.0.0.1, for the real SDKs to talk to.

Cloud AI (aiohttp, in the caller's event loop): `FakeDeepgram` (live STT socket), `FakeOpenAI` (streamed chat
completions), `FakeElevenLabs` (TTS socket and HTTP stream), `FakeCloud` (all three; `start_in_thread` for a server
in another process). Carrier REST (http.server threads, for synchronous SDK calls): `FakeTwilio`, `FakeTelnyx`.
A customer's tool endpoint: `FakeToolServer`. Each module says how to script replies and faults.
"""

from .cloud import FakeCloud, ThreadedCloud, start_in_thread
from .deepgram import DeepgramFault, FakeDeepgram
from .elevenlabs import ElevenLabsFault, FakeElevenLabs
from .openai import FakeOpenAI, ScriptedReply

__all__ = [
    "DeepgramFault", "ElevenLabsFault", "FakeCloud", "FakeDeepgram", "FakeElevenLabs", "FakeOpenAI",
    "ScriptedReply", "ThreadedCloud", "start_in_thread",
]
