"""A speech-to-speech call's tokens in its usage and cost: each kind priced apart, the cascade's STT and TTS billed
only for what they did."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from automation.usage import usage_of
from calls.costs import DEFAULT_PRICES, cost_of
from calls.models import Agent, Call, Turn
from calls.session.realtime_session import billed_tokens

# A `response.done` usage as the Realtime API reports it (`RealtimeResponseUsage`).
RESPONSE_USAGE = {
    "total_tokens": 1500, "input_tokens": 1200, "output_tokens": 300,
    "input_token_details": {"audio_tokens": 1000, "text_tokens": 200, "cached_tokens": 600,
                            "cached_tokens_details": {"audio_tokens": 500, "text_tokens": 100}},
    "output_token_details": {"audio_tokens": 240, "text_tokens": 60},
}


def test_a_responses_usage_splits_into_the_kinds_that_are_priced_apart():
    tokens = billed_tokens(RESPONSE_USAGE)
    assert tokens == {"audio_input_tokens": 500, "audio_cached_input_tokens": 500, "text_input_tokens": 100,
                      "text_cached_input_tokens": 100, "audio_output_tokens": 240, "text_output_tokens": 60}


def test_a_usage_with_missing_or_ill_typed_fields_counts_only_what_it_says():
    assert billed_tokens({}) == {}
    assert billed_tokens({"input_token_details": "junk", "output_token_details": {"audio_tokens": True,
                                                                                 "text_tokens": -3}}) == {}
    assert billed_tokens({"input_token_details": {"audio_tokens": 80}}) == {"audio_input_tokens": 80}


def _call(realtime: dict, seconds: float = 120.0) -> Call:
    agent = Agent(name="Sam", stt_provider="deepgram", llm_provider="openai-realtime", tts_provider="elevenlabs")
    answered = timezone.now()
    return Call(agent=agent, carrier="twilio", answered_at=answered, ended_at=answered + timedelta(seconds=seconds),
                usage={"realtime": realtime})


def _tokens(**kw) -> dict:
    return {"provider": "openai-realtime", "model": "gpt-realtime", "fell_back_after_s": None, **billed_tokens(
        RESPONSE_USAGE), **kw}


def test_a_realtime_call_costs_its_tokens_at_each_kinds_price_and_no_stt_or_tts():
    call = _call(_tokens())
    turns = [Turn(role=Turn.Role.AGENT, text="We open at nine.", node="realtime")]
    usage = usage_of(call, turns)
    assert "stt" not in usage and "tts" not in usage
    cost = cost_of(usage, DEFAULT_PRICES)
    lines = {line["kind"]: line for line in cost["lines"]}
    prices = DEFAULT_PRICES["realtime_per_million_tokens"]["gpt-realtime"]
    assert lines["realtime_audio_input"]["amount"] == round(500 / 1e6 * prices["audio_input"], 6)
    assert lines["realtime_audio_cached_input"]["unit_price"] == prices["audio_cached_input"]
    assert lines["realtime_audio_output"]["amount"] == round(240 / 1e6 * prices["audio_output"], 6)
    realtime_total = sum(_priced(prices))
    carrier = lines["carrier"]["amount"]
    assert cost["total"] == round(realtime_total + carrier, 6)


def _priced(prices: dict) -> list[float]:
    """Each kind's amount, worked out here from the price table (the cost must add up to these and the carrier)."""
    tokens = billed_tokens(RESPONSE_USAGE)
    return [round(tokens[f"{part}_tokens"] / 1e6 * price, 6) for part, price in prices.items()]


def test_after_a_fallback_the_cascades_stt_and_tts_are_billed_for_their_part_only():
    call = _call(_tokens(fell_back_after_s=30.0), seconds=120.0)
    turns = [Turn(role=Turn.Role.AGENT, text="Hello, this is Sam.", node="realtime"),
             Turn(role=Turn.Role.AGENT, text="We open at nine.", node="llm"),
             Turn(role=Turn.Role.CALLER, text="when do you open", node="")]
    usage = usage_of(call, turns)
    assert usage["stt"]["audio_seconds"] == 90.0  # from the fallback to the end
    assert usage["tts"]["characters"] == len("We open at nine.")  # the cascade's turn only
    assert usage["realtime"]["audio_output_tokens"] == 240


@override_settings(PRICES={"currency": "EUR", "realtime_per_million_tokens": {"gpt-realtime": {"audio_output": 1.0}}})
def test_realtime_prices_come_from_the_settings_and_a_kind_without_a_price_is_unpriced_not_free():
    cost = cost_of({"realtime": _tokens()})
    lines = {line["kind"]: line for line in cost["lines"]}
    assert cost["currency"] == "EUR"
    assert lines["realtime_audio_output"]["amount"] == round(240 / 1e6, 6)
    assert lines["realtime_audio_input"]["priced"] is False and lines["realtime_audio_input"]["amount"] == 0.0
