"""A prompt-first agent in a real browser (headless Chromium): start from a template, edit the prompt, save, see
an unknown {{variable}} refused beside its field; a finished call's analysis and cost on the call page.

Skipped, with the reason, when chromium/chromedriver are missing."""

from __future__ import annotations

import tempfile

import pytest

from automation import analysis
from automation.post_call import run as post_call
from calls.models import Agent, Workspace

from . import browser as b
from .conftest import PASSWORD, make_call, make_user

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def driver():
    b.skip_without_chromium()
    profile = tempfile.mkdtemp(prefix="vb-chromium-")
    drv = b.make_driver(profile)
    yield drv
    drv.quit()
    b.cleanup_profile(profile)


def test_a_prompt_agent_from_a_template_and_its_analysed_call(driver, live_server, settings):
    from selenium.webdriver.common.by import By

    settings.OPENAI_API_KEY = ""  # the analysis comes from the flow's slots
    workspace = Workspace.objects.create(name="Acme", slug="acme")
    make_user("demo", workspace)
    base = live_server.url
    b.login(driver, base, "demo", PASSWORD)

    driver.get(base + "/agents/")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=template-appointment_reminder]").click()
    prompt = driver.find_element(By.ID, "id_system_prompt")
    assert "{{appointment_time}}" in prompt.get_attribute("value")
    prompt.send_keys("\nMention the {{parking_note}}.")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=save-agent]").click()
    b.wait_for(lambda: "unknown variable {{parking_note}}" in driver.page_source, "unknown variable not reported")
    assert not Agent.objects.filter(workspace=workspace).exists()

    variables = driver.find_element(By.ID, "id_variable_defaults")
    variables.clear()
    variables.send_keys('{"customer_name": "", "appointment_time": "tomorrow", "business_name": "Acme", '
                        '"parking_note": "free parking behind the building"}')
    driver.find_element(By.CSS_SELECTOR, "[data-testid=save-agent]").click()
    b.wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".messages"), "agent not saved")
    agent = Agent.objects.get(workspace=workspace, name="Appointment reminder")
    assert agent.system_prompt.endswith("Mention the {{parking_note}}.") and agent.llm_provider == "openai"
    b.save_screenshot(driver, "agent-prompt")

    call = make_call(workspace, agent, "CA-analysed", turns=[("agent", "Hello, calling about tomorrow.", None, None)],
                     variables={"customer_name": "Ada"},
                     brain_state={"node": "end", "variables": {"outcome": "confirmed"}})
    post_call(call.pk)
    analysis.run(call.pk)
    driver.get(base + f"/calls/{call.pk}/")
    panel = driver.find_element(By.CSS_SELECTOR, "[data-testid=call-analysis]").text
    assert "outcome" in panel and "confirmed" in panel
    assert "Ada" in driver.find_element(By.CSS_SELECTOR, "[data-testid=call-variables]").text
    assert "USD" in driver.find_element(By.CSS_SELECTOR, "[data-testid=cost-total]").text
    b.save_screenshot(driver, "call-analysis")
