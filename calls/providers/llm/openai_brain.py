"""`OpenAIBrain`: an LLM agent on OpenAI (or any OpenAI-compatible server) through `openai` 3.x `AsyncOpenAI`.

Streaming chat completions with tools. Voice needs different defaults from the SDK's (600 s timeout, 2 retries):
a tight connect timeout, a first-token deadline, and no retries — a retry after a stall costs more silence than
the fallback line the session can say instead. Cancelling `respond()` (barge-in) closes the HTTP stream
(`async with stream`): merely leaving the loop would keep the connection, and the tokens, flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator

import httpx
import openai
from django.conf import settings

from calls.languages import language_or_none

from ..base import (
    ActionFailed,
    Brain,
    BrainInput,
    BrainOutput,
    BrainState,
    CallContext,
    Dtmf,
    EndCall,
    ProviderError,
    Silence,
    StillWorking,
    ToolUsed,
    TextDelta,
    Transfer,
    UserTurn,
)
from ..cloud import ms_since
from .conversation import Conversation, Reply
from .tool_calls import ToolCall, ToolCallAssembler
from .tools import END_CALL_SCHEMA, HttpTool, transfer_schema

log = logging.getLogger("calls.providers.openai")

PROVIDER = "openai"
USAGE_KEY = "usage"  # in the brain state's variables: this call's token totals
DEFAULT_PROMPT = "You are a friendly, efficient phone agent."
SPOKEN_RULES = (
    "Your replies are spoken aloud on a phone call: answer in one to three short sentences, with no lists, "
    "markdown or emoji."
)
END_CALL_RULE = " When the conversation is over, say goodbye and call end_call."
VOICE_RULES = SPOKEN_RULES + END_CALL_RULE
FILLER = "One moment while I check that. "
GOODBYE = "Goodbye! "
TRANSFERRING = "Let me transfer you now. "
SILENCE_GOODBYE = "I haven't heard from you, so I'll end the call now. Goodbye! "
TOO_MANY_TOOLS = "Sorry, I couldn't finish that request. "
def language_rule(tag: str | None) -> str:
    """The system line that keeps a non-English agent's replies in its language (models drift back to English,
    or to the prompt's language); "" for English or a tag the table lacks."""
    lang = language_or_none(tag) if tag else None
    if lang is None or lang.is_english:
        return ""
    return (f"The caller speaks {lang.name}: always reply in {lang.name}, whatever the language of these "
            "instructions.")


ACTION_FAILED = "Sorry, I couldn't do that right now. Can I help with something else? "


class OpenAIBrain(Brain):
    """Options: model, system_prompt, temperature, base_url, end_call (offer the tool; default yes),
    transfer_targets ({label: number} or [number, ...]) — from the Agent's fields (`for_agent`) — and the extras of
    `provider_options["llm"]`: connect_timeout_s, first_token_timeout_s, read_timeout_s, max_retries,
    filler_after_s, max_tool_rounds, history_budget_chars. HTTP tools come from `Agent.tools`. `language`: the
    agent's tag; a non-English one adds a "reply in <language>" line to the system prompt (`language_rule`)."""

    name = PROVIDER

    def __init__(
        self,
        *,
        greeting: str = "",
        options: dict | None = None,
        tools: list[dict] | None = None,
        state: BrainState | None = None,
        max_reprompts: int = 2,
    ) -> None:
        o = options or {}
        self.options = o
        self.greeting_text = greeting
        self.model = o.get("model", "gpt-4o-mini")
        self.temperature = o.get("temperature")
        self.first_token_s = float(o.get("first_token_timeout_s", 2.5))
        self.filler_after_s = float(o.get("filler_after_s", 1.0))
        self.max_tool_rounds = int(o.get("max_tool_rounds", 4))
        self.max_reprompts = max_reprompts
        self.last_ttfb_ms: float | None = None
        self.last_usage: dict | None = None
        self._timeout = httpx.Timeout(
            connect=float(o.get("connect_timeout_s", 1.0)),
            read=float(o.get("read_timeout_s", 5.0)),  # between streamed chunks, after the first
            write=5.0,
            pool=1.0,
        )
        self._targets = _targets(o.get("transfer_targets"))
        self._config_error: ProviderError | None = None
        self._http_tools: dict[str, HttpTool] = {}
        try:
            for raw in tools or []:
                tool = HttpTool.from_config(raw)
                self._http_tools[tool.name] = tool
        except ProviderError as exc:
            self._config_error = exc
        self._offered: list = []  # add_tool() tools not yet checked for availability
        self.state = state or BrainState(node="llm")
        variables = self.state.variables
        #: Appended to every system prompt this brain is given (the flow's LLM steps set their own).
        self.language_rule = language_rule(o.get("language"))
        self.convo = Conversation(
            f"{o.get('system_prompt') or DEFAULT_PROMPT}\n\n"
            + (VOICE_RULES if o.get("end_call", True) else SPOKEN_RULES)
            + (f"\n{self.language_rule}" if self.language_rule else ""),
            messages=variables.setdefault("messages", []),
            summary=variables.get("summary", ""),
            budget_chars=int(o.get("history_budget_chars", 12000)),
        )
        self.state.node = "llm"
        self._client: openai.AsyncOpenAI | None = None
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def for_agent(cls, agent, state: BrainState | None) -> OpenAIBrain:
        """The agent's own fields (system prompt, model, base URL, temperature, tools, end-call and transfer
        switches) with `provider_options["llm"]` over them: it holds the rare extras (timeouts, budgets), and a
        model / base URL / temperature set there explicitly still counts (the migration moved those of existing LLM
        agents into the fields). The system prompt there is read only when the field is empty."""
        options = agent.provider_options or {}
        extras = dict(options.get("llm") or {})
        fields = {"model": agent.llm_model or "gpt-4o-mini", "base_url": agent.llm_base_url}
        if agent.llm_temperature is not None:
            fields["temperature"] = agent.llm_temperature
        llm = {**fields, **extras}
        llm["system_prompt"] = agent.system_prompt or extras.get("system_prompt", "")
        if agent.transfer_targets:
            llm["transfer_targets"] = agent.transfer_targets
        llm["end_call"] = agent.end_call_enabled
        llm["language"] = getattr(agent, "language", "")
        return cls(
            greeting=agent.greeting,
            options=llm,
            tools=[*(agent.tools or []), *(options.get("tools") or [])],
            state=state if state is not None and state.node == "llm" else None,
            max_reprompts=agent.max_reprompts,
        )

    # ------------------------------------------------------------------ contract

    async def greeting(self) -> AsyncIterator[BrainOutput]:
        # The greeting is fixed text: no request, no latency. It joins the context so the model knows it was said.
        text = (self.greeting_text or "").strip()
        if not text:
            return
        reply = self.convo.start_reply()
        reply.add_text(reply.open_message(), text)
        yield TextDelta(text + " ")

    def bind(self, call: CallContext) -> None:
        """The agent's knowledge base as the `search_knowledge` tool (offered only once it holds documents)."""
        if call.agent.pk is None:
            return
        # Imported on use, as before: the knowledge app brings its Django models, which this module otherwise
        # does without.
        from knowledge.tool import KnowledgeTool

        self.add_tool(KnowledgeTool(call.agent.pk, on_sources=getattr(call.recorder, "note_sources", None)))

    def add_tool(self, tool) -> None:
        """Offer one more tool with HttpTool's interface (`name`, `schema()`, `async call(client, arguments)`), e.g.
        the knowledge base or a flow node's `next_step`. If it has an async `available()`, that is asked once,
        before the next request (it may need the database, which the constructor must not touch)."""
        self._offered.append(tool)

    async def _add_offered_tools(self) -> None:
        while self._offered:
            tool = self._offered.pop(0)
            if not hasattr(tool, "available") or await tool.available():
                self._http_tools[tool.name] = tool

    async def respond(self, event: BrainInput) -> AsyncIterator[BrainOutput]:
        if self._config_error is not None:
            raise self._config_error
        if isinstance(event, ActionFailed):
            yield self._action_failed(event)
            return
        if self._offered:
            await self._add_offered_tools()
        if isinstance(event, Silence) and event.count >= self.max_reprompts:  # the flow engine's rule too
            reply = self.convo.start_reply()
            reply.add_text(reply.open_message(), SILENCE_GOODBYE)
            yield TextDelta(SILENCE_GOODBYE)
            yield EndCall("silence")
            return
        self.convo.add_user(_describe(event))
        self.convo.compact()
        self.state.variables["summary"] = self.convo.summary
        reply = self.convo.start_reply()
        started = time.monotonic()
        self.last_ttfb_ms = None
        for _ in range(self.max_tool_rounds + 1):
            request = self.convo.request_messages()  # before opening the (still empty) reply message
            message = reply.open_message()
            assembler = ToolCallAssembler()
            async for text in self._stream(request, assembler, started):
                reply.add_text(message, text)
                yield TextDelta(text)
            calls = assembler.calls()
            if not calls:
                return
            reply.add_tool_calls(message, calls)
            async for out in self._run_tools(reply, calls):
                yield out
                if isinstance(out, EndCall | Transfer):
                    return  # end_call / transfer_call: the model gets no further turn
        reply.add_filler(TOO_MANY_TOOLS)
        yield TextDelta(TOO_MANY_TOOLS)

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        self.convo.heard(full_text, heard_text, interrupted)

    def _action_failed(self, event: ActionFailed) -> TextDelta:
        """The transfer or hang-up the model asked for did not happen. No request: the caller hears one line at once
        (the session's), and the model learns it from its tool's result — an error now, not "ok" — on the next turn."""
        tool = "transfer_call" if isinstance(event.action, Transfer) else "end_call"
        line = (event.line or ACTION_FAILED).strip() + " "
        error = json.dumps({"error": f"{tool} failed: {event.reason}"[:300],
                            "note": "The call is still connected; the caller was told it did not work."})
        if not self.convo.tool_failed(tool, error):  # not the model's own action (e.g. a flow's): a note instead
            self.convo.add_user(f"[{tool} failed: {event.reason}"[:300] + "]")
        reply = self.convo.start_reply()
        reply.add_text(reply.open_message(), line)
        return TextDelta(line)

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
            self._client = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ------------------------------------------------------------------ the model

    def _client_or_error(self) -> openai.AsyncOpenAI:
        if self._client is None:
            key = getattr(settings, "OPENAI_API_KEY", "")
            if not key:
                raise ProviderError("OPENAI_API_KEY is not set", provider=PROVIDER, permanent=True)
            base = self.options.get("base_url") or getattr(settings, "OPENAI_BASE_URL", "") or None
            self._client = openai.AsyncOpenAI(
                api_key=key, base_url=base, timeout=self._timeout, max_retries=int(self.options.get("max_retries", 0))
            )
        return self._client

    def _tool_schemas(self) -> list[dict]:
        schemas = [END_CALL_SCHEMA] if self.options.get("end_call", True) else []
        if self._targets:
            # Without configured destinations the model gets no transfer tool at all: letting a model dial
            # numbers it picked (or a caller talked it into) is toll fraud waiting to happen.
            schemas.append(transfer_schema(sorted(self._targets)))
        schemas.extend(tool.schema() for tool in self._http_tools.values())
        return schemas

    async def _stream(self, messages: list[dict], assembler: ToolCallAssembler, started: float) -> AsyncIterator[str]:
        """One streamed completion: yields text, collects tool calls into `assembler`."""
        client = self._client_or_error()
        kwargs = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        tools = self._tool_schemas()
        if tools:  # the API refuses an empty list
            kwargs["tools"] = tools
        if self.temperature is not None:
            kwargs["temperature"] = float(self.temperature)
        deadline = time.monotonic() + self.first_token_s
        try:
            stream = await asyncio.wait_for(client.chat.completions.create(**kwargs), self.first_token_s)
            async with stream:  # closes the HTTP response however we leave: end, error, cancel (barge-in)
                chunks = aiter(stream)
                first = True
                while True:
                    try:
                        if first:
                            chunk = await asyncio.wait_for(anext(chunks), max(0.0, deadline - time.monotonic()))
                        else:
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    if chunk.usage is not None:
                        self.last_usage = chunk.usage.model_dump()
                        self._count_usage(chunk.usage)
                    if not chunk.choices:
                        continue  # the usage chunk (include_usage) has an empty choices list
                    if first:
                        first = False
                        if self.last_ttfb_ms is None:
                            self.last_ttfb_ms = ms_since(started)
                    delta = chunk.choices[0].delta
                    for fragment in (delta.tool_calls or []) if delta is not None else []:
                        assembler.add(fragment)
                    if delta is not None and delta.content:
                        yield delta.content
        except openai.APIStatusError as exc:
            raise ProviderError(f"HTTP {exc.status_code}: {exc.message}"[:300], provider=PROVIDER,
                                permanent=exc.status_code in (400, 401, 403, 404)) from exc
        except (openai.APITimeoutError, TimeoutError) as exc:
            raise ProviderError("timed out waiting for the model", provider=PROVIDER) from exc
        except openai.APIError as exc:  # connection errors, error events inside the stream
            raise ProviderError(f"{type(exc).__name__}: {exc}"[:300], provider=PROVIDER) from exc
        except (httpx.HTTPError, ValueError) as exc:  # a dropped stream; a malformed SSE frame (bad JSON)
            raise ProviderError(f"bad stream: {exc!r}"[:300], provider=PROVIDER) from exc

    def _count_usage(self, usage) -> None:
        """The call's token totals, kept in the brain state (saved with the call) for its cost (calls.costs)."""
        total = self.state.variables.setdefault(USAGE_KEY, {"model": self.model, "prompt_tokens": 0,
                                                            "completion_tokens": 0})
        total["prompt_tokens"] += int(usage.prompt_tokens or 0)
        total["completion_tokens"] += int(usage.completion_tokens or 0)

    # ------------------------------------------------------------------ tools

    async def _run_tools(self, reply: Reply, calls: list[ToolCall]) -> AsyncIterator[BrainOutput]:
        """Answer every call of one round. HTTP tools run together; a slow batch gets a filler line so the
        caller does not sit in silence. end_call / transfer_call end the reply with their action."""
        action: EndCall | Transfer | None = None
        pending: dict[str, asyncio.Task] = {}
        results: dict[str, str] = {}
        for call in calls:
            try:
                args = call.parsed_arguments()
            except ValueError as exc:
                results[call.id] = json.dumps({"error": f"invalid arguments: {exc}"})
                continue
            if call.name == "end_call" and action is None and self.options.get("end_call", True):
                action, results[call.id] = EndCall(str(args.get("reason") or "completed")), "ok"
            elif call.name == "transfer_call" and action is None and self._targets:
                target = self._targets.get(str(args.get("destination", "")))
                if target is None:
                    results[call.id] = json.dumps({"error": f"unknown destination; use one of {sorted(self._targets)}"})
                else:
                    action, results[call.id] = Transfer(target, str(args.get("summary", ""))), "ok"
            elif call.name in self._http_tools:
                tool = self._http_tools[call.name]
                pending[call.id] = asyncio.ensure_future(tool.call(self._http_client(), args))
            else:
                results[call.id] = json.dumps({"error": f"no tool named {call.name}"})
        try:
            if pending:
                # The model is not stalling while a tool works: tell the stall guard how long it may take.
                grace = max(getattr(self._http_tools.get(c.name), "timeout_s", 5.0) for c in calls
                            if c.id in pending) + 1.0
                yield StillWorking(grace)
                _, slow = await asyncio.wait(pending.values(), timeout=self.filler_after_s)
                if slow and not reply.has_filler(FILLER):
                    reply.add_filler(FILLER)
                    yield TextDelta(FILLER)
                    yield StillWorking(grace)  # the filler was an output: the tool still has its time
                if slow:
                    await asyncio.wait(pending.values())
                yield StillWorking(0.0)  # from here the next model request has the usual budget
                results.update({cid: task.result() for cid, task in pending.items()})
        finally:
            for task in pending.values():
                task.cancel()  # barge-in while waiting: the results are no longer wanted
        for call in calls:
            reply.add_tool_result(call, results.get(call.id, "ok"))
            with contextlib.suppress(ValueError):  # unparsable arguments were answered as an error above
                yield ToolUsed(call.name, call.parsed_arguments())
        if action is not None:
            if not reply.spoken:
                line = GOODBYE if isinstance(action, EndCall) else TRANSFERRING
                reply.add_filler(line)
                yield TextDelta(line)
            yield action

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http


def _describe(event: BrainInput) -> str:
    if isinstance(event, UserTurn):
        return event.text
    if isinstance(event, Dtmf):
        return f"[The caller pressed {event.digit} on the keypad.]"
    if isinstance(event, Silence):
        return "[The caller has been silent for a while. Briefly check whether they are still there.]"
    return str(event)


def _targets(raw) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return {str(v): str(v) for v in raw}
    return {}
