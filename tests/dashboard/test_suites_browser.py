"""The agent's test suite in a real browser: the demo agent's scenarios listed, a malformed edit refused with its
line and field, then one scenario run from the page as a real test call against a real daphne (the page's own
server calls itself as Twilio would), its result, transcript and call shown as they come.

Skipped, with the reason, when chromium/chromedriver are missing.
"""

from __future__ import annotations

import pytest


from . import browser as b
from .browser import demo_server, driver  # noqa: F401 - the module's server (fixture `server`) and Chromium
from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

def test_an_agents_test_suite_edited_and_run_from_the_browser(driver, server):
    from selenium.webdriver.common.by import By

    agent = b.join_demo(server, "tester", PASSWORD)
    b.login(driver, server.base_url, "tester", PASSWORD)
    driver.get(f"{server.base_url}/agents/{agent}/")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=suite-link]").click()
    b.wait_for(lambda: driver.current_url.endswith(f"/agents/{agent}/tests/"), "suite page not opened")
    rows = driver.find_elements(By.CSS_SELECTOR, "[data-testid=scenarios] tr[data-scenario]")
    assert {r.get_attribute("data-scenario") for r in rows} == {
        "booking by voice", "booking by keypad", "opening hours", "talk to a human", "caller goes silent",
        "caller interrupts"}

    # A typo in the editor: refused, with the line and the field, and the text kept for fixing.
    hours = next(r for r in rows if r.get_attribute("data-scenario") == "opening hours")
    hours.find_element(By.LINK_TEXT, "Edit").click()
    editor = b.wait_for(lambda: driver.find_element(By.ID, "id_source"), "no scenario editor")
    source = editor.get_attribute("value")
    broken = source.replace("  - say: That's all thank you", "  - say: That's all thank you\n    speed: fast")
    editor.clear()
    editor.send_keys(broken)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=scenario-form] button[type=submit]").click()
    error = b.wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "[data-testid=scenario-error]"), "no error shown")
    line = broken.splitlines().index("    speed: fast") + 1
    assert f"line {line}, field lines[1].speed: unknown field 'speed'" in error.text
    assert "speed: fast" in driver.find_element(By.ID, "id_source").get_attribute("value")

    # Run one scenario from the page: it is called for real, and the result comes in while the page watches.
    driver.get(f"{server.base_url}/agents/{agent}/tests/")
    for box in driver.find_elements(By.CSS_SELECTOR, "[data-testid=scenarios] input[name=scenario]"):
        row = box.find_element(By.XPATH, "./ancestor::tr")
        if (row.get_attribute("data-scenario") == "opening hours") != box.is_selected():
            box.click()
    driver.find_element(By.CSS_SELECTOR, "[data-testid=run-selected]").click()
    b.wait_for(lambda: "/tests/runs/" in driver.current_url, "the run page did not open")

    def result_status():
        return driver.find_element(By.CSS_SELECTOR, "[data-result='opening hours']").get_attribute("data-status")

    b.wait_for(lambda: result_status() not in ("pending", "running"),
               f"the scenario did not finish\n{server.log.read_text()[-3000:]}", timeout=150, interval=1.0)
    result = driver.find_element(By.CSS_SELECTOR, "[data-result='opening hours']")
    assert result_status() == "passed", result.text
    transcript = result.find_element(By.CSS_SELECTOR, "[data-testid=transcript]").text
    assert "Monday to Friday" in transcript and "hours" in transcript.lower()
    b.save_screenshot(driver, "suite-run")

    # The test call, with its recording, is one click away; and it is marked as a test call.
    result.find_element(By.CSS_SELECTOR, "[data-testid=call-link]").click()
    b.wait_for(lambda: driver.find_elements(By.ID, "call-audio"), "the test call's page has no recording",
               timeout=15, interval=0.5)
    driver.get(f"{server.base_url}/agents/{agent}/tests/")
    history = driver.find_element(By.CSS_SELECTOR, "[data-testid=history]").text
    assert "flow v1" in history and "passed" in history
    b.save_screenshot(driver, "suite")
