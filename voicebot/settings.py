"""voicebot settings: everything from the environment, with embedded defaults that need no account or network."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dj_database_url

from calls.telemetry.logs import logging_config

from .env import env_bool, env_float, env_int, env_str, local_ed25519_keypair, local_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VOICEBOT_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY") or local_secret(VAR_DIR, "secret_key")
DEBUG = env_bool("DEBUG", False)
PORT = env_int("PORT", 8000)
# The https URL the carriers call. Signatures are checked against it and stream URLs are built from it.
PUBLIC_BASE_URL = (env_str("PUBLIC_BASE_URL") or f"http://127.0.0.1:{PORT}").rstrip("/")
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "*").split(",") if h]
# Behind a TLS-terminating proxy the carrier signed the https URL; trust the proxy's headers to rebuild it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", True)
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL] if PUBLIC_BASE_URL.startswith("http") else []

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "calls",
    "dashboard",
    "knowledge",
    "automation",
    "suites",
    # The test harnesses' management commands (simulate_call); the app itself never imports voicebot.testing.
    "voicebot.testing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "voicebot.urls"
ASGI_APPLICATION = "voicebot.asgi.application"
LOGIN_URL = "/accounts/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            # WAL lets the dashboard read while a call writes its turns.
            # IMMEDIATE: a write transaction takes the lock when it begins, so concurrent writers wait for it
            # (up to `timeout`) instead of failing with "database is locked" when they upgrade mid-transaction.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # redis-py 8 reads with a 5 s socket timeout by default, exactly channels_redis' blocking BZPOPMIN wait: an idle
    # dashboard socket would die of a TimeoutError every few seconds. The read timeout must outlast that wait.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
# Without a broker the work after a call runs in-process, right away.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # with late acks: a worker holds one task, not a batch others could run
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "purge-expired-calls": {"task": "automation.tasks.purge_expired_calls", "schedule": 24 * 3600.0},
    # A safety net only: campaigns reschedule themselves as calls end.
    "tick-campaigns": {"task": "automation.tasks.tick_campaigns", "schedule": 60.0},
    # Calls a crashed server left in progress (the web processes also do it themselves: calls/instances.py).
    "reconcile-lost-calls": {"task": "automation.tasks.reconcile_lost_calls", "schedule": 60.0},
}
# Call-completed webhooks: per-attempt timeout, attempts in all, first retry delay (doubles each time, jittered).
WEBHOOK_TIMEOUT_S = env_float("WEBHOOK_TIMEOUT_S", 10.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
# The call-starting webhook (calls/call_start.py): the caller is waiting, so its answer must come fast.
CALL_START_WEBHOOK_TIMEOUT_S = env_float("CALL_START_WEBHOOK_TIMEOUT_S", 1.5)
# The price table for cost per call (calls/costs.py, whose DEFAULT_PRICES shows the shape): JSON, or the defaults.
PRICES = json.loads(env_str("VOICEBOT_PRICES", "")) if env_str("VOICEBOT_PRICES", "") else None
WEBHOOK_RETRY_BASE_S = env_float("WEBHOOK_RETRY_BASE_S", 30.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))  # call recordings
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []

# ---------------------------------------------------------------- carriers
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
# Without a real account a generated token signs and checks requests, so validation is never off; the local
# simulator reads the same file.
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN") or local_secret(VAR_DIR, "local_twilio_auth_token")
TWILIO_CREDENTIALS_ARE_REAL = bool(env_str("TWILIO_AUTH_TOKEN") and TWILIO_ACCOUNT_SID)
TELNYX_API_KEY = env_str("TELNYX_API_KEY")
# As for Twilio: without the portal's key a generated Ed25519 pair (in VAR_DIR) checks, and the simulator signs.
TELNYX_PUBLIC_KEY = env_str("TELNYX_PUBLIC_KEY") or local_ed25519_keypair(VAR_DIR)[1]
TELNYX_CREDENTIALS_ARE_REAL = bool(env_str("TELNYX_PUBLIC_KEY"))
TELNYX_BASE_URL = env_str("TELNYX_BASE_URL")  # empty: the SDK's default (tests point it at a fake)
TELNYX_CONNECTION_ID = env_str("TELNYX_CONNECTION_ID")  # the Call Control application outbound calls dial from
TWILIO_BASE_URL = env_str("TWILIO_BASE_URL")  # empty: api.twilio.com (tests point the SDK at a fake)
# After a dropped media socket Twilio runs the TwiML after <Connect>: a pause this long keeps the call up while we
# ask it, over REST, to reconnect the stream (calls.resume).
TWILIO_RESUME_GRACE_S = env_int("TWILIO_RESUME_GRACE_S", 10)
# What the media stream asks Telnyx for; an agent may override it (provider_options["telephony"]). L16 16000 = wideband.
TELNYX_STREAM_CODEC = env_str("TELNYX_STREAM_CODEC", "PCMU")
TELNYX_STREAM_RATE = env_int("TELNYX_STREAM_RATE", 8000)
DEMO_NUMBER = env_str("DEMO_NUMBER", "+15550100000")

# Media stream tokens: bound to one call, single use, short-lived.
STREAM_TOKEN_TTL_S = env_int("STREAM_TOKEN_TTL_S", 60)

# ---------------------------------------------------------------- speech stack
WHISPER_MODEL_DIR = env_str("WHISPER_MODEL_DIR")  # any CTranslate2 Whisper folder; default: the packaged tiny.en
# A multilingual CTranslate2 Whisper folder for agents whose language is not English (tiny.en only hears English).
WHISPER_MULTILINGUAL_MODEL_DIR = env_str("WHISPER_MULTILINGUAL_MODEL_DIR")
WHISPER_CPU_THREADS = env_int("WHISPER_CPU_THREADS", 2)
# Load models and cache opening lines at server start; off inside the test runner (its processes serve no calls).
VOICEBOT_WARM_UP = env_bool("VOICEBOT_WARM_UP", "pytest" not in sys.modules)
# Each web process heartbeats (calls/instances.py) so the calls of a process that died are closed; off in the test
# runner (its processes serve no calls; the tests drive the reconciler themselves).
VOICEBOT_INSTANCE_HEARTBEAT = env_bool("VOICEBOT_INSTANCE_HEARTBEAT", "pytest" not in sys.modules)
# SIGTERM drains the live calls before the server stops (calls/shutdown.py; VOICEBOT_DRAIN_S); off in the test runner.
VOICEBOT_GRACEFUL_SHUTDOWN = env_bool("VOICEBOT_GRACEFUL_SHUTDOWN", "pytest" not in sys.modules)
# /metrics: a scraper sends "Authorization: Bearer <METRICS_TOKEN>"; without it only a staff login may read them.
METRICS_TOKEN = env_str("METRICS_TOKEN")
MAX_WS_MESSAGE_BYTES = env_int("MAX_WS_MESSAGE_BYTES", 64 * 1024)
# Admission control: beyond this many live calls a process answers new calls with a polite overflow message.
MAX_CONCURRENT_CALLS = env_int("MAX_CONCURRENT_CALLS", 150)
OVERFLOW_NUMBER = env_str("OVERFLOW_NUMBER")  # where calls beyond the limit are sent; empty: a polite message
TURN_SILENCE_MS = env_int("TURN_SILENCE_MS", 300)
TTS_CHUNK_MS = env_int("TTS_CHUNK_MS", 20)
MARK_EVERY_MS = env_int("MARK_EVERY_MS", 200)
SIMULATOR_TIMEOUT_S = env_float("SIMULATOR_TIMEOUT_S", 60.0)
# Cloud speech providers: used only by agents that choose them; a chosen provider without its key fails over to
# the embedded stack (whisper / flow / espeak). The *_BASE_URL settings point the SDKs elsewhere (tests, proxies,
# OpenAI-compatible servers).
DEEPGRAM_API_KEY = env_str("DEEPGRAM_API_KEY")
DEEPGRAM_BASE_URL = env_str("DEEPGRAM_BASE_URL", "https://api.deepgram.com")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")  # empty: the SDK's default
ELEVENLABS_API_KEY = env_str("ELEVENLABS_API_KEY")
ELEVENLABS_BASE_URL = env_str("ELEVENLABS_BASE_URL", "https://api.elevenlabs.io")

# LOG_FORMAT=json: one JSON object per line; otherwise readable text. Both carry the call id (calls/telemetry/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text").strip().lower()
LOGGING = logging_config(LOG_FORMAT, env_str("LOG_LEVEL", "INFO"))
