"""`FakeCloud`: the three cloud vendors' fakes (Deepgram, OpenAI, ElevenLabs) at once, and where they are.

Each fake is usable on its own (see its module). `FakeCloud` runs all three and says how to point the app at
them; in the test's own event loop:

    async with FakeCloud() as cloud:
        cloud.env    # {"DEEPGRAM_API_KEY": ..., "DEEPGRAM_BASE_URL": ..., "OPENAI_API_KEY": ..., ...}
        cloud.deepgram.transcripts.append("book a table")

or, for a server in another process (daphne) that needs the fakes up while the test drives it synchronously:

    cloud = start_in_thread()          # own event loop in a daemon thread
    subprocess.Popen([...], env={**os.environ, **cloud.env})
    cloud.run(some_coroutine)          # run code in the fakes' loop (their asyncio objects live there)
    cloud.stop()
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from .deepgram import FakeDeepgram
from .elevenlabs import FakeElevenLabs
from .openai import FakeOpenAI


class FakeCloud:
    """All three fakes; pass configured instances to script them, or take the defaults."""

    def __init__(self, deepgram: FakeDeepgram | None = None, openai: FakeOpenAI | None = None,
                 elevenlabs: FakeElevenLabs | None = None) -> None:
        self.deepgram = deepgram or FakeDeepgram()
        self.openai = openai or FakeOpenAI()
        self.elevenlabs = elevenlabs or FakeElevenLabs()

    async def start(self) -> FakeCloud:
        await asyncio.gather(self.deepgram.start(), self.openai.start(), self.elevenlabs.start())
        return self

    async def stop(self) -> None:
        await asyncio.gather(self.deepgram.stop(), self.openai.stop(), self.elevenlabs.stop())

    async def __aenter__(self) -> FakeCloud:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def urls(self) -> dict[str, str]:
        return {"deepgram": self.deepgram.url, "openai": self.openai.base_url, "elevenlabs": self.elevenlabs.url}

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point voicebot's settings at the fakes."""
        return {
            "DEEPGRAM_API_KEY": self.deepgram.api_key,
            "DEEPGRAM_BASE_URL": self.deepgram.url,
            "OPENAI_API_KEY": self.openai.api_key,
            "OPENAI_BASE_URL": self.openai.base_url,
            "ELEVENLABS_API_KEY": self.elevenlabs.api_key,
            "ELEVENLABS_BASE_URL": self.elevenlabs.url,
        }


class ThreadedCloud:
    """A `FakeCloud` running in its own event loop on a daemon thread."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-cloud", daemon=True)
        self._thread.start()
        self.run(cloud.start())

    def run(self, coro, timeout: float = 10.0):
        future: Future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    @property
    def env(self) -> dict[str, str]:
        return self.cloud.env

    @property
    def urls(self) -> dict[str, str]:
        return self.cloud.urls

    def stop(self) -> None:
        self.run(self.cloud.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def start_in_thread(**fakes) -> ThreadedCloud:
    """Start all three fakes in a background thread; keyword arguments as for `FakeCloud`. The fakes' asyncio
    objects (e.g. `FakeOpenAI.disconnected`) belong to that thread's loop: await them through `cloud.run`."""
    return ThreadedCloud(FakeCloud(**fakes))
