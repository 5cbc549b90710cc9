"""Helpers for the browser tests: a headless Chromium (Debian's chromium + chromium-driver, never downloaded),
a daphne server in a subprocess for pages that need WebSockets, and screenshots."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from voicebot.testing.server import Server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL_HINT = "apt-get install -y chromium chromium-driver"
REDIS_URL = os.environ.get("DASHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WINDOW = (1440, 900)


def screenshot_dir() -> Path:
    """docs/screenshots by default; CI (a throw-away clone) writes to a temp folder instead of tracked files."""
    configured = os.environ.get("DASHBOARD_SCREENSHOT_DIR")
    if configured:
        return Path(configured)
    if os.environ.get("CI"):
        return Path(tempfile.gettempdir()) / "voicebot-screenshots"
    return ROOT / "docs" / "screenshots"


def chromium_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements.txt)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} not found: install it with `{INSTALL_HINT}`"
    return None


def make_driver(profile_dir: str):
    # Never let Selenium Manager fetch a browser or driver: explicit paths, and offline mode as a second lock.
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
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
        f"--user-data-dir={profile_dir}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    return driver


def save_screenshot(driver, name: str) -> Path:
    """A full-page PNG: the window is stretched to the page's height first."""
    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    driver.set_window_size(WINDOW[0], min(max(WINDOW[1], height), 3000))
    time.sleep(0.15)  # let the resize reflow (charts redraw on resize)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(*WINDOW)
    return path


def canvas_ink(driver, canvas_id: str) -> int:
    """Sum of alpha over a canvas: 0 for a blank canvas, large once a chart has drawn on it."""
    return driver.execute_script(
        """
        const c = document.getElementById(arguments[0]);
        if (!c) return -1;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let sum = 0;
        for (let i = 3; i < d.length; i += 4) sum += d[i];
        return sum;""",
        canvas_id,
    )


def login(driver, base_url: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/accounts/login/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "/accounts/login/" not in driver.current_url, "login did not complete")


def wait_for(predicate, message: str, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - elements come and go while a page loads
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(interval)


def redis_unreachable() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {REDIS_URL} is unreachable ({exc.__class__.__name__}); the live page test needs it"
    return None


class DaphneServer(Server):
    """voicebot.asgi under daphne in a subprocess (voicebot.testing.server), on its own SQLite file, with the Redis
    channel layer on, so a group message sent from the test process reaches the server's WebSocket consumers."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, seed_demo=False, extra_env={
            "REDIS_URL": REDIS_URL, "VOICEBOT_WARM_UP": "0", "CELERY_TASK_ALWAYS_EAGER": "1",
        })

    def shell(self, code: str) -> dict:
        """Run Python in the server's environment (its database); the code prints one JSON line."""
        done = self.manage("shell", "-c", code)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])


def skip_without_chromium():
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)


def cleanup_profile(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module", name="server")
def demo_server(tmp_path_factory):
    """A real server (daphne) with the demo seeded: agent, number, knowledge base, test scenarios."""
    skip_without_chromium()
    srv = Server(tmp_path_factory.mktemp("demo"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def driver():
    """A headless Chromium for the module's tests (skipped without one)."""
    skip_without_chromium()
    profile = tempfile.mkdtemp(prefix="vb-chromium-")
    drv = make_driver(profile)
    yield drv
    drv.quit()
    cleanup_profile(profile)


_JOIN_DEMO = """
import json
from django.contrib.auth import get_user_model
from calls.models import Agent, Workspace
ws = Workspace.objects.get(slug="demo")
user = get_user_model().objects.create_user({username!r}, password={password!r})
ws.members.add(user)
agent = Agent.objects.get(workspace=ws, name="Bright Smile Dental")
agent.record_audio = True
agent.save(update_fields=["record_audio"])
print(json.dumps({{"agent": agent.pk}}))
"""


def join_demo(server: Server, username: str, password: str) -> int:
    """A user of the seeded demo workspace on `server`, with the demo agent recording its calls: the agent's id."""
    done = server.manage("shell", "-c", _JOIN_DEMO.format(username=username, password=password))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["agent"]
