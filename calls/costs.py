"""What a call cost: its usage per provider (`Call.usage`) times the price table (`settings.PRICES`).

    usage = {"stt": {"provider", "audio_seconds"}, "llm": {"provider", "model", "prompt_tokens",
             "completion_tokens"}, "analysis_llm": {the same, for the post-call analysis}, "tts": {"provider",
             "characters"}, "carrier": {"provider", "minutes"},
             "realtime": {"provider", "model", "audio_input_tokens", "audio_cached_input_tokens",
                          "audio_output_tokens", "text_input_tokens", "text_cached_input_tokens",
                          "text_output_tokens"}}

Prices: STT per audio minute, LLM per million tokens (per model, "default" for the rest), a speech-to-speech
model per million tokens of each kind (audio and text, in and out, cached input apart: `REALTIME_PARTS`), TTS per
thousand characters, the carrier per minute. A provider or model missing from the table costs nothing but is listed as
`"priced": false`, so an unknown price shows as unknown instead of as free.
"""

from __future__ import annotations

from django.conf import settings

__all__ = ["cost_of", "DEFAULT_PRICES", "REALTIME_PARTS"]

#: The kinds of token a speech-to-speech model bills, each with its price (usage key: "<part>_tokens").
REALTIME_PARTS = ("audio_input", "audio_cached_input", "audio_output", "text_input", "text_cached_input",
                  "text_output")

# Public list prices (USD) at the time of writing; operators set their own with VOICEBOT_PRICES (JSON).
DEFAULT_PRICES = {
    "currency": "USD",
    "stt_per_minute": {"deepgram": 0.0077, "whisper": 0.0},
    "llm_per_million_tokens": {
        "gpt-4o-mini": {"prompt": 0.15, "completion": 0.60},
        "gpt-4o": {"prompt": 2.50, "completion": 10.00},
        "flow": {"prompt": 0.0, "completion": 0.0},
    },
    # OpenAI's gpt-realtime list prices; a cached input token is one the model had seen earlier in the session.
    "realtime_per_million_tokens": {
        "gpt-realtime": {"audio_input": 32.0, "audio_cached_input": 0.40, "audio_output": 64.0,
                         "text_input": 4.0, "text_cached_input": 0.40, "text_output": 16.0},
    },
    "tts_per_thousand_chars": {"elevenlabs": 0.18, "espeak": 0.0},
    "carrier_per_minute": {"twilio": 0.014, "telnyx": 0.007, "browser": 0.0},
}


def _line(kind: str, provider: str, quantity: float, unit: str, price: float | None, per: int = 1) -> dict:
    """`quantity` of `unit` at `price` per `per` units (e.g. tokens at a price per million)."""
    amount = round(quantity / per * price, 6) if price is not None else 0.0
    return {"kind": kind, "provider": provider, "quantity": round(quantity, 3), "unit": unit,
            "unit_price": price, "per": per, "amount": amount, "priced": price is not None}


def cost_of(usage: dict, prices: dict | None = None) -> dict:
    """{currency, total, lines: [{kind, provider, quantity, unit, unit_price (per `per` units), per, amount,
    priced}]}."""
    prices = prices or getattr(settings, "PRICES", None) or DEFAULT_PRICES
    lines = []
    stt = usage.get("stt") or {}
    if stt:
        price = prices.get("stt_per_minute", {}).get(stt.get("provider"))
        lines.append(_line("stt", stt.get("provider", ""), stt.get("audio_seconds", 0) / 60, "minute", price))
    for key in ("llm", "analysis_llm"):  # the conversation's tokens, then the post-call analysis's
        llm = usage.get(key) or {}
        if not llm:
            continue
        table = prices.get("llm_per_million_tokens", {})
        per_model = table.get(llm.get("model")) or table.get(llm.get("provider")) or table.get("default")
        name = llm.get("model") or llm.get("provider", "")
        for part in ("prompt", "completion"):
            price = per_model.get(part) if per_model else None
            tokens = llm.get(f"{part}_tokens", 0)
            lines.append(_line(f"{key}_{part}", name, tokens, "tokens", price, per=1_000_000))
    realtime = usage.get("realtime") or {}
    if realtime:
        table = prices.get("realtime_per_million_tokens", {})
        name = realtime.get("model") or realtime.get("provider", "")
        per_model = table.get(realtime.get("model")) or table.get("default")
        for part in REALTIME_PARTS:
            tokens = realtime.get(f"{part}_tokens", 0)
            if tokens:
                price = per_model.get(part) if per_model else None
                lines.append(_line(f"realtime_{part}", name, tokens, "tokens", price, per=1_000_000))
    tts = usage.get("tts") or {}
    if tts:
        price = prices.get("tts_per_thousand_chars", {}).get(tts.get("provider"))
        lines.append(_line("tts", tts.get("provider", ""), tts.get("characters", 0), "characters", price, per=1000))
    carrier = usage.get("carrier") or {}
    if carrier:
        price = prices.get("carrier_per_minute", {}).get(carrier.get("provider"))
        lines.append(_line("carrier", carrier.get("provider", ""), carrier.get("minutes", 0), "minute", price))
    return {"currency": prices.get("currency", "USD"), "total": round(sum(x["amount"] for x in lines), 6),
            "lines": lines}
