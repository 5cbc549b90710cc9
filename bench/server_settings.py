"""Settings for the bench's server processes: voicebot's own, plus one SQLite fix the bench needs (see below).

SQLite with Django's default DEFERRED transactions fails at once with "database is locked" when a transaction
that began by reading (the webhook's `get_or_create` in `transaction.atomic()`) tries to write while another
connection writes (the recorder thread, the other worker): SQLite cannot wait on a lock it would have to upgrade.
Two concurrent calls were enough to get HTTP 500s from the voice webhook. `transaction_mode="IMMEDIATE"`
(Django >= 5.1) takes the write lock at BEGIN, so writers queue on the busy timeout instead. Until
voicebot/settings.py sets it itself, the bench's servers run with it (DJANGO_SETTINGS_MODULE=bench.server_settings).
"""

from voicebot.settings import *  # noqa: F401,F403
from voicebot.settings import DATABASES

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
