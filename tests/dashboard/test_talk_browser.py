"""Talk to the demo agent from a real browser: headless Chromium's fake microphone plays a WAV of a caller asking
"What are your opening hours?", the page streams it to a real daphne (embedded Whisper and eSpeak), plays the
agent's replies and shows the transcript; then the stored call's page plays the recording, turn by turn.

Skipped, with the reason, when chromium/chromedriver are missing.
"""

from __future__ import annotations

import os
import tempfile
import time
import wave
from pathlib import Path

import httpx
import pytest

from voicebot.testing.speech import caller_speech

from . import browser as b
from .browser import demo_server  # noqa: F401 - the module's server (fixture `server`)
from .conftest import PASSWORD

pytestmark = pytest.mark.browser

QUESTION = "What are your opening hours?"
# The fake microphone starts when the page opens it, just before the call connects: stay quiet through the demo
# greeting and recording notice (about six seconds of speech), then ask once.
LEAD_SILENCE_S = 8.0
TAIL_SILENCE_S = 3.0
RATE = 16000

def caller_wav(folder: Path) -> Path:
    """The caller's line, in the simulated caller's voice at 16 kHz, between stretches of silence."""
    speech = caller_speech(QUESTION, RATE, wpm=150, trim=True)
    pcm = bytes(int(LEAD_SILENCE_S * RATE) * 2) + speech + bytes(int(TAIL_SILENCE_S * RATE) * 2)
    path = folder / "caller.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    return path


def talk_driver(profile_dir: str, wav: Path):
    """The dashboard tests' Chromium, plus a fake microphone that plays `wav` once and no permission prompt."""
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = b.CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={profile_dir}",
        f"--window-size={b.WINDOW[0]},{b.WINDOW[1]}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(b.CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    return driver


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    b.skip_without_chromium()
    wav = caller_wav(tmp_path_factory.mktemp("mic"))
    profile = tempfile.mkdtemp(prefix="vb-chromium-")
    drv = talk_driver(profile, wav)
    yield drv
    drv.quit()
    b.cleanup_profile(profile)


def test_talking_to_an_agent_from_the_browser(driver, server):
    from selenium.webdriver.common.by import By

    ids = {"agent": b.join_demo(server, "talker", PASSWORD)}
    base = server.base_url
    b.login(driver, base, "talker", PASSWORD)
    driver.get(base + f"/agents/{ids['agent']}/")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=talk-link]").click()
    b.wait_for(lambda: driver.current_url.endswith(f"/agents/{ids['agent']}/talk/"), "talk page not opened")

    def transcript() -> str:
        return driver.find_element(By.CSS_SELECTOR, "[data-testid=talk-transcript]").get_attribute("textContent")

    def status() -> str:
        return driver.find_element(By.CSS_SELECTOR, "[data-testid=talk-status]").text

    driver.find_element(By.CSS_SELECTOR, "[data-testid=talk-start]").click()
    b.wait_for(lambda: status() == "connected", f"the call did not connect (status: {status()!r})", timeout=15)
    b.wait_for(lambda: "Bright Smile Dental" in transcript(), "no greeting in the transcript", timeout=20)
    # Whisper hears the fake microphone's question; the flow answers with the opening hours.
    b.wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#talk-transcript .bubble-row.caller:not(.partial)"),
               f"the caller's question never arrived: {transcript()!r}\n{server.log.read_text()[-2000:]}", timeout=30)
    caller = driver.find_element(By.CSS_SELECTOR, "#talk-transcript .bubble-row.caller:not(.partial)")
    assert "hours" in caller.get_attribute("textContent").lower()
    b.wait_for(lambda: "Monday to Friday" in transcript(), f"no reply about the hours: {transcript()!r}", timeout=20)
    # The page played the replies and echoed their marks as they finished: every word counts as heard (a reply
    # whose marks never came back would be stored as cut off, its unheard words struck through).
    assert not driver.find_elements(By.CSS_SELECTOR, "#talk-transcript .unheard"), transcript()
    time.sleep(0.3)  # let the last bubble's entry animation settle for the screenshot
    b.save_screenshot(driver, "talk")

    driver.find_element(By.CSS_SELECTOR, "[data-testid=talk-hangup]").click()
    b.wait_for(lambda: status().startswith("call ended"), f"hang-up not shown (status: {status()!r})")
    call_url = driver.find_element(By.CSS_SELECTOR, "[data-testid=talk-call-link]").get_attribute("href")

    # The stored call: transcript, and the recording (saved as the call ends) in a player that seeks by Range.
    def page_with_player():
        driver.get(call_url)
        return driver.find_elements(By.ID, "call-audio")

    b.wait_for(page_with_player, "the call page has no recording", timeout=15, interval=0.5)
    b.wait_for(lambda: driver.execute_script("return document.getElementById('call-audio').readyState") >= 1,
               "the recording's metadata did not load")
    duration = driver.execute_script("return document.getElementById('call-audio').duration")
    assert duration > LEAD_SILENCE_S, duration
    # daphne serves the bytes a seek asks for (the player relies on it), with the browser's own session.
    src = driver.execute_script("return document.getElementById('call-audio').src")
    cookie = driver.get_cookie("sessionid")["value"]
    partial = httpx.get(src, headers={"Range": "bytes=44-1043"}, cookies={"sessionid": cookie}, timeout=10)
    assert partial.status_code == 206 and len(partial.content) == 1000
    assert partial.headers["Content-Range"].startswith("bytes 44-1043/")
    rows = driver.find_elements(By.CSS_SELECTOR, ".bubble-row[data-audio-start]")
    assert len(rows) >= 3
    reply = next(r for r in rows if "Monday to Friday" in r.get_attribute("textContent"))
    start_s = int(reply.get_attribute("data-audio-start")) / 1000
    assert 0 < start_s < duration
    # Clicking a turn seeks the player there, and the transcript highlights the turn being played.
    reply.click()
    b.wait_for(lambda: "playing" in reply.get_attribute("class"), "the clicked turn is not highlighted")
    position = driver.execute_script("return document.getElementById('call-audio').currentTime")
    assert abs(position - start_s) < 1.0, (position, start_s)
    driver.execute_script("document.getElementById('call-audio').pause()")
    time.sleep(0.2)
    b.save_screenshot(driver, "call-detail-recording")
