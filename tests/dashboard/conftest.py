"""Fixtures for the dashboard tests: two workspaces (A and B), a member of each, and recorded calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from calls.flows.demo import DEMO_FLOW
from calls.models import Agent, Call, CallEvent, PhoneNumber, Turn, TurnMetrics, Workspace

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default PBKDF2 costs ~0.5 s per user on a small CI box; these tests are about access, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ws_a(db):
    return Workspace.objects.create(name="Acme", slug="acme")


@pytest.fixture
def ws_b(db):
    return Workspace.objects.create(name="Bolt", slug="bolt")


def make_user(username: str, workspace: Workspace):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    workspace.members.add(user)
    return user


@pytest.fixture
def user_a(ws_a):
    return make_user("alice", ws_a)


@pytest.fixture
def user_b(ws_b):
    return make_user("bob", ws_b)


@pytest.fixture
def client_a(client, user_a):
    client.force_login(user_a)
    return client


def make_agent(workspace: Workspace, name: str = "Receptionist", **fields) -> Agent:
    return Agent.objects.create(workspace=workspace, name=name, greeting="Hello!", flow=DEMO_FLOW, **fields)


@pytest.fixture
def agent_a(ws_a):
    return make_agent(ws_a)


@pytest.fixture
def agent_b(ws_b):
    return make_agent(ws_b, "Bolt bot")


def make_call(
    workspace: Workspace,
    agent: Agent | None,
    call_id: str,
    *,
    turns=(),
    minutes_ago: float = 10,
    duration_s: float = 42,
    status: str = Call.Status.COMPLETED,
    **fields,
) -> Call:
    """A finished call with `turns`: (role, text, extra fields or None, metrics dict or None) each."""
    created = timezone.now() - timedelta(minutes=minutes_ago)
    values = dict(
        from_number="+15550111111",
        to_number="+15550100000",
        answered_at=created,
        ended_at=created + timedelta(seconds=duration_s) if status == Call.Status.COMPLETED else None,
    )
    values.update(fields)
    call = Call.objects.create(
        workspace=workspace,
        agent=agent,
        carrier="twilio",
        carrier_call_id=call_id,
        status=status,
        created_at=created,
        **values,
    )
    for index, (role, text, extra, metrics) in enumerate(turns):
        at = created + timedelta(seconds=2 * index)
        turn = Turn.objects.create(
            call=call,
            index=index,
            role=role,
            text=text,
            started_at=at,
            ended_at=at + timedelta(seconds=1),
            **(extra or {}),
        )
        if metrics:
            TurnMetrics.objects.create(turn=turn, **metrics)
    return call


def metrics(e2e: float, endpoint: float = 120, stt_final: float = 200, brain: float = 260, tts: float = 380) -> dict:
    return dict(
        endpoint_ms=endpoint,
        stt_final_ms=stt_final,
        brain_first_text_ms=brain,
        tts_first_audio_ms=tts,
        first_frame_sent_ms=e2e,
        end_to_end_ms=e2e,
        stt_ms=stt_final - endpoint,
        brain_ms=brain - stt_final,
        tts_ms=tts - brain,
    )


SAMPLE_TURNS = [
    ("agent", "Hello and thank you for calling. How can I help you today?", {"node": "ask_help"}, None),
    ("caller", "I'd like to book an appointment for a cleaning", None, None),
    (
        "agent",
        "Sure. Which day works for you? We are open Monday to Saturday.",
        {"node": "booking", "interrupted": True, "heard_text": "Sure. Which day works for you?"},
        metrics(450),
    ),
    ("caller", "Tuesday please", None, None),
    ("agent", "Great, Tuesday it is. Anything else?", {"node": "ask_more"}, metrics(520, brain=300, tts=420)),
]


@pytest.fixture
def call_a(ws_a, agent_a):
    call = make_call(ws_a, agent_a, "CA-alpha", turns=SAMPLE_TURNS)
    CallEvent.objects.create(
        call=call,
        workspace=ws_a,
        kind=CallEvent.Kind.DTMF,
        detail={"digit": "5"},
        at=call.created_at + timedelta(seconds=3),
    )
    CallEvent.objects.create(
        call=call,
        workspace=ws_a,
        kind=CallEvent.Kind.PROVIDER_FAILURE,
        detail={"stage": "tts", "provider": "elevenlabs", "error": "timeout"},
        at=call.created_at + timedelta(seconds=5),
    )
    return call


@pytest.fixture
def call_b(ws_b, agent_b):
    return make_call(ws_b, agent_b, "CB-bravo", turns=[("caller", "secret bravo transcript", None, None)])


@pytest.fixture
def number_a(ws_a, agent_a):
    return PhoneNumber.objects.create(workspace=ws_a, e164="+15550100000", carrier="twilio", agent=agent_a)


@pytest.fixture
def number_b(ws_b, agent_b):
    return PhoneNumber.objects.create(workspace=ws_b, e164="+15550200000", carrier="telnyx", agent=agent_b)
