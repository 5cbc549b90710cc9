"""The dashboard in a real browser (headless Chromium): log in, create an agent, bind a number, see a call's
latency waterfall drawn, the analytics charts, and the live monitor updating from a Channels group message.

Skipped, with the reason, when chromium/chromedriver are missing (CI: apt-get install -y chromium chromium-driver)
or, for the live page, when Redis is unreachable.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Agent, CallEvent, PhoneNumber

from . import browser as b
from .browser import driver  # noqa: F401 - the module's Chromium
from .conftest import PASSWORD, SAMPLE_TURNS, make_agent, make_call, make_user, metrics

pytestmark = pytest.mark.browser


def seed_history(workspace, agent) -> None:
    """Two weeks of plausible calls, so the analytics page has something to draw."""
    rng = random.Random(7)
    nodes = ["goodbye", "goodbye", "goodbye", "human", "ask_more", "booking", "hours"]
    reasons = ["caller hung up", "caller hung up", "completed", "transfer", "silence timeout"]
    for i in range(40):
        minutes_ago = rng.uniform(30, 13 * 24 * 60)
        turns = [("agent", "Hello, how can I help?", {"node": "ask_help"}, None)]
        for t in range(rng.randint(1, 3)):
            # Milestones in order, as the engine measures them (ms after the caller's last voiced frame).
            endpoint = rng.gauss(300, 25)
            stt_final = endpoint + rng.uniform(40, 110)
            brain = stt_final + rng.uniform(15, 90) + (rng.random() < 0.1) * rng.uniform(200, 700)
            tts = brain + rng.uniform(90, 220)
            e2e = tts + rng.uniform(10, 35)
            turns += [
                ("caller", "I would like to book an appointment", None, None),
                (
                    "agent",
                    "Sure, which day works for you?",
                    {"node": rng.choice(nodes) if t else "booking", "interrupted": rng.random() < 0.15},
                    metrics(e2e, endpoint=endpoint, stt_final=stt_final, brain=brain, tts=tts),
                ),
            ]
        make_call(
            workspace,
            agent,
            f"CA-hist-{i}",
            turns=turns,
            minutes_ago=minutes_ago,
            duration_s=rng.uniform(20, 240),
            from_number=f"+1555013{rng.randint(1000, 9999)}",
            end_reason=rng.choice(reasons),
        )


def test_dashboard_pages(driver, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from calls.models import Workspace

    workspace = Workspace.objects.create(name="Bright Smile Dental", slug="bright")
    make_user("demo", workspace)
    receptionist = make_agent(workspace, "Bright Smile receptionist")
    seed_history(workspace, receptionist)
    call = make_call(workspace, receptionist, "CA-showcase", turns=SAMPLE_TURNS, minutes_ago=3, duration_s=38)
    CallEvent.objects.create(
        call=call,
        workspace=workspace,
        kind=CallEvent.Kind.DTMF,
        detail={"digit": "0"},
        at=call.created_at + timedelta(seconds=3),
    )
    CallEvent.objects.create(
        call=call,
        workspace=workspace,
        kind=CallEvent.Kind.BARGE_IN,
        detail={"heard_ms": 1400},
        at=call.created_at + timedelta(seconds=5),
    )
    base = live_server.url

    b.login(driver, base, "demo", PASSWORD)

    # Create an agent through the form (the starter flow is pre-filled).
    driver.get(base + "/agents/new/")
    driver.find_element(By.ID, "id_name").send_keys("After-hours line")
    greeting = driver.find_element(By.ID, "id_greeting")
    greeting.clear()
    greeting.send_keys("Hi, you have reached us after hours.")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=save-agent]").click()
    b.wait_for(lambda: "saved" in driver.find_element(By.CSS_SELECTOR, ".messages").text, "agent not saved")
    agent = Agent.objects.get(workspace=workspace, name="After-hours line")
    assert driver.current_url.endswith(f"/agents/{agent.pk}/")
    assert driver.find_elements(By.CSS_SELECTOR, "[data-testid=flow-diagram] .flow-node")
    driver.get(base + "/agents/")
    b.save_screenshot(driver, "agents")
    driver.get(base + f"/agents/{receptionist.pk}/")
    b.save_screenshot(driver, "agent-edit")
    # "Hear this voice" fetches a WAV from the embedded engine and hands it to the audio element.
    driver.find_element(By.ID, "hear-voice").click()
    b.wait_for(
        lambda: driver.execute_script("return document.getElementById('voice-player').src.startsWith('blob:')"),
        "no voice sample loaded",
    )

    # Bind a number to the new agent.
    driver.get(base + "/numbers/")
    driver.find_element(By.ID, "id_e164").send_keys("+1 415 555 0123")
    Select(driver.find_element(By.ID, "id_carrier")).select_by_value("twilio")
    Select(driver.find_element(By.ID, "id_agent")).select_by_visible_text("After-hours line")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=bind-number]").click()
    b.wait_for(
        lambda: "+14155550123" in driver.find_element(By.CSS_SELECTOR, "[data-testid=numbers-table]").text,
        "number not listed",
    )
    assert PhoneNumber.objects.get(e164="+14155550123", carrier="twilio").agent == agent
    b.save_screenshot(driver, "numbers")

    driver.get(base + "/calls/")
    b.save_screenshot(driver, "calls")

    # A stored call: transcript and the latency waterfall, drawn by Chart.js.
    driver.get(base + f"/calls/{call.pk}/")
    b.wait_for(
        lambda: driver.execute_script(
            "return !!(window.Chart && Chart.getChart(document.getElementById('waterfall')))"
        ),
        "no chart on the canvas",
    )
    assert (
        driver.execute_script("return Chart.getChart(document.getElementById('waterfall')).data.datasets.length") == 5
    )
    assert b.canvas_ink(driver, "waterfall") > 0
    struck = driver.find_element(By.CSS_SELECTOR, ".bubble .unheard")
    assert "Monday to Saturday" in struck.text
    assert "line-through" in struck.value_of_css_property("text-decoration")
    b.save_screenshot(driver, "call-detail")

    driver.get(base + "/analytics/")
    b.wait_for(lambda: b.canvas_ink(driver, "chart-e2e") > 0, "latency chart not drawn")
    assert b.canvas_ink(driver, "chart-volume") > 0 and b.canvas_ink(driver, "chart-hangups") > 0
    b.save_screenshot(driver, "analytics")

    # No request left the machine: every script and stylesheet is served by the app.
    sources = driver.execute_script(
        "return [...document.scripts].map(s => s.src).concat([...document.styleSheets].map(s => s.href))"
    )
    assert all(not s or s.startswith(base) for s in sources), sources

    driver.find_element(By.CSS_SELECTOR, "[data-testid=logout]").click()
    b.wait_for(lambda: "Logged out" in driver.page_source, "logout failed")
    driver.get(base + "/calls/")
    assert "/accounts/login/" in driver.current_url


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    b.skip_without_chromium()
    reason = b.redis_unreachable()
    if reason:
        pytest.skip(reason)
    server = b.DaphneServer(tmp_path_factory.mktemp("daphne"))
    server.start()
    yield server
    server.stop()


SETUP_LIVE = """
import json
from django.contrib.auth import get_user_model
from django.utils import timezone
from calls.models import Agent, Call, Turn, Workspace
from calls.flows.demo import DEMO_FLOW
ws = Workspace.objects.create(name="Live demo", slug="live")
user = get_user_model().objects.create_user("live", password=PASSWORD)
ws.members.add(user)
agent = Agent.objects.create(workspace=ws, name="Receptionist", flow=DEMO_FLOW)
call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA-live-1",
    from_number="+15550111111", to_number="+15550100000", status="in-progress", answered_at=timezone.now())
Turn.objects.create(call=call, index=0, role="agent", text="Hello, thanks for calling. How can I help you today?",
    started_at=timezone.now(), ended_at=timezone.now(), node="ask_help")
print(json.dumps({"workspace": ws.pk, "call": call.pk}))
""".replace("password=PASSWORD", f"password={PASSWORD!r}")


def test_live_monitor_updates_from_group_messages(driver, daphne):
    from asgiref.sync import async_to_sync
    from channels_redis.core import RedisChannelLayer
    from selenium.webdriver.common.by import By

    ids = daphne.shell(SETUP_LIVE)
    b.login(driver, daphne.base_url, "live", PASSWORD)
    driver.get(daphne.base_url + "/live/")
    b.wait_for(
        lambda: driver.find_element(By.CSS_SELECTOR, "#conn .label").text == "live", "the live socket did not connect"
    )
    card_selector = f'[data-call-id="{ids["call"]}"]'

    def card_text() -> str:
        # textContent, not .text: new bubbles fade in, and WebDriver leaves out text while it is transparent.
        return driver.find_element(By.CSS_SELECTOR, card_selector).get_attribute("textContent")

    assert "How can I help" in card_text()

    # The same layer the call engine publishes through (calls.live), from this process to daphne's, via Redis.
    layer = RedisChannelLayer(hosts=[b.REDIS_URL])
    group = f"live.{ids['workspace']}"
    call_ref = {
        "id": ids["call"],
        "carrier_call_id": "CA-live-1",
        "carrier": "twilio",
        "from": "+15550111111",
        "to": "+15550100000",
    }

    def send(kind: str, data: dict, call: dict = call_ref) -> None:
        async_to_sync(layer.group_send)(group, {"type": "call.update", "call": call, "kind": kind, "data": data})

    send(
        "turn",
        {
            "index": 1,
            "role": "caller",
            "text": "I'd like to book a cleaning for Tuesday",
            "heard_text": "",
            "interrupted": False,
            "metrics": None,
        },
    )
    b.wait_for(lambda: "book a cleaning for Tuesday" in card_text(), "caller turn not shown")
    send(
        "turn",
        {
            "index": 2,
            "role": "agent",
            "text": "Tuesday works. Morning or afternoon? We have both.",
            "heard_text": "Tuesday works.",
            "interrupted": True,
            "metrics": {"end_to_end_ms": 512.0},
        },
    )
    b.wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, f"{card_selector} .unheard"), "agent turn not shown")
    assert "Morning or afternoon?" in driver.find_element(By.CSS_SELECTOR, f"{card_selector} .unheard").get_attribute(
        "textContent"
    )
    assert "reply in 512 ms" in card_text()
    send("event", {"kind": "dtmf", "detail": {"digit": "1"}})
    b.wait_for(lambda: "key 1" in card_text(), "DTMF not shown")

    # A call the page has never seen gets its own card.
    second = {
        "id": 99999,
        "carrier_call_id": "CA-live-2",
        "carrier": "telnyx",
        "from": "+15550122222",
        "to": "+15550100000",
    }
    send(
        "turn",
        {
            "index": 0,
            "role": "agent",
            "text": "Hello, thanks for calling Bright Smile Dental.",
            "heard_text": "",
            "interrupted": False,
            "metrics": None,
        },
        call=second,
    )
    b.wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, '[data-call-id="99999"]'), "new call card missing")
    time.sleep(0.3)  # let the entry animation settle for the screenshot
    b.save_screenshot(driver, "live")

    send("call", {"status": "completed", "ended_at": timezone.now().isoformat()})
    b.wait_for(
        lambda: "ended" in driver.find_element(By.CSS_SELECTOR, card_selector).get_attribute("class"),
        "call end not shown",
    )
    async_to_sync(layer.flush)()  # our keys only live in the test Redis database; leave it clean
