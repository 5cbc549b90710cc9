"""`Conversation`: an LLM agent's context, kept server-side, holding only what the caller actually heard.

Messages are OpenAI chat messages (dicts). Each reply is tracked as the segments the caller was meant to hear in
order (model text, or a filler line the brain said itself), so `heard()` can cut the reply where playback stopped.

History beyond `budget_chars` is folded into a running summary. The summary is *extractive* — the first sentence
of each old message, labelled by speaker — which costs no extra LLM request (and no latency) but is cruder than
an abstractive summary; recent turns are always kept verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .tool_calls import ToolCall

INTERRUPTED = "[interrupted by the caller]"
NOT_RUN = "(not run: the caller interrupted)"
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)")


@dataclass
class _Segment:
    message: dict | None  # None: a line the brain said itself (filler), not part of any model message
    text: str


@dataclass
class Reply:
    """The agent's current reply, as spoken segments."""

    messages: list[dict]
    segments: list[_Segment] = field(default_factory=list)

    def open_message(self) -> dict:
        message = {"role": "assistant", "content": ""}
        self.messages.append(message)
        return message

    def add_text(self, message: dict, text: str) -> None:
        message["content"] = (message.get("content") or "") + text
        if self.segments and self.segments[-1].message is message:
            self.segments[-1].text += text
        else:
            self.segments.append(_Segment(message, text))

    def add_filler(self, text: str) -> None:
        self.segments.append(_Segment(None, text))

    def add_tool_calls(self, message: dict, calls: list[ToolCall]) -> None:
        message["tool_calls"] = [c.as_message_part() for c in calls]

    def add_tool_result(self, call: ToolCall, result: str) -> None:
        self.messages.append({"role": "tool", "tool_call_id": call.id, "content": result})

    def has_filler(self, text: str) -> bool:
        return any(s.message is None and s.text == text for s in self.segments)

    @property
    def spoken(self) -> bool:
        return any(s.text.strip() for s in self.segments)


class Conversation:
    def __init__(self, system_prompt: str, messages: list[dict] | None = None, summary: str = "",
                 budget_chars: int = 12000, summary_chars: int = 2000) -> None:
        self.system_prompt = system_prompt
        self.messages: list[dict] = messages if messages is not None else []
        self.summary = summary
        self.budget_chars = budget_chars
        self.summary_chars = summary_chars
        self.reply: Reply | None = None

    def add_user(self, text: str) -> None:
        self.messages.append({"role": "user", "content": text})

    def start_reply(self) -> Reply:
        self.reply = Reply(self.messages)
        return self.reply

    def tool_failed(self, name: str, error: str) -> bool:
        """The latest call of tool `name` failed after it was answered "ok" (a transfer the carrier refused): its
        result becomes `error`. False if the model made no such call."""
        for message in reversed(self.messages):
            calls = [c["id"] for c in message.get("tool_calls") or [] if c["function"]["name"] == name]
            if message["role"] != "assistant" or not calls:
                continue
            for result in self.messages:
                if result["role"] == "tool" and result.get("tool_call_id") == calls[-1]:
                    result["content"] = error
                    return True
            return False
        return False

    def request_messages(self) -> list[dict]:
        self._repair()
        system = self.system_prompt
        if self.summary:
            system += f"\n\nEarlier in this call (summary): {self.summary}"
        return [{"role": "system", "content": system}, *self.messages]

    # ------------------------------------------------------------------ what was heard

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        """Keep only the heard part of the last reply; unheard model text is removed, the cut is marked."""
        reply = self.reply
        if reply is None or not interrupted:
            return
        remaining = len(heard_text.split())
        cut = False
        for segment in reply.segments:
            words = segment.text.split()
            if not cut and remaining >= len(words):
                remaining -= len(words)
                continue
            message = segment.message
            if message is not None:
                if cut:
                    message["content"] = ""  # never heard
                else:
                    kept = " ".join(words[:remaining])
                    message["content"] = f"{kept} … {INTERRUPTED}" if kept else INTERRUPTED
            cut = True
            remaining = 0
        if not cut:
            # Everything was heard but playback was still cut (e.g. at the very end): just mark it.
            for segment in reversed(reply.segments):
                if segment.message is not None:
                    segment.message["content"] = f"{segment.message['content']} {INTERRUPTED}"
                    break
        self.reply = None

    # ------------------------------------------------------------------ size

    def compact(self) -> None:
        """Fold the oldest messages into the summary when the history outgrows its budget."""
        if _size(self.messages) <= self.budget_chars:
            return
        cut = self._cut_index(self.budget_chars // 2)
        if cut <= 0:
            return
        old = self.messages[:cut]
        del self.messages[:cut]
        lines = [line for line in (_summarise(m, old) for m in old) if line]
        summary = " ".join(filter(None, [self.summary, *lines]))
        self.summary = summary[-self.summary_chars :]

    def _cut_index(self, keep_chars: int) -> int:
        """The earliest user message after which at most `keep_chars` remain: cutting before a user message never
        separates an assistant's tool calls from their results (the API rejects that)."""
        best = 0
        for i, message in enumerate(self.messages):
            if message["role"] == "user" and i > 0:
                best = i
                if _size(self.messages[i:]) <= keep_chars:
                    break
        return best

    def _repair(self) -> None:
        """Make the history valid after a cancelled reply: answer tool calls left without results, and drop
        assistant messages that ended up empty."""
        answered = {m.get("tool_call_id") for m in self.messages if m["role"] == "tool"}
        repaired: list[dict] = []
        for message in self.messages:
            if message["role"] == "assistant" and not message.get("content") and not message.get("tool_calls"):
                continue
            repaired.append(message)
            for call in message.get("tool_calls") or []:
                if call["id"] not in answered:
                    repaired.append({"role": "tool", "tool_call_id": call["id"], "content": NOT_RUN})
            if message.get("tool_calls") and not message.get("content"):
                message["content"] = None
        self.messages[:] = repaired


def _size(messages: list[dict]) -> int:
    return sum(len(m.get("content") or "") + len(str(m.get("tool_calls") or "")) for m in messages)


def _summarise(message: dict, context: list[dict]) -> str:
    role = message["role"]
    content = (message.get("content") or "").strip()
    if role == "tool":
        name = next((c["function"]["name"] for m in context for c in (m.get("tool_calls") or [])
                     if c["id"] == message.get("tool_call_id")), "tool")
        return f"({name} returned: {content[:80]})"
    if not content:
        return ""
    match = _FIRST_SENTENCE.match(content)
    first = (match.group(1) if match else content)[:120]
    return f"{'Caller' if role == 'user' else 'Agent'}: {first}"
