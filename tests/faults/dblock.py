"""A real database outage for the writes of a call: another connection takes SQLite's write lock, so every write the
app tries fails in SQLite itself with `OperationalError: database table is locked` until the lock is released."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connection


class WriteLock:
    def __init__(self) -> None:
        name = connection.settings_dict["NAME"]
        if connection.vendor != "sqlite" or "mode=memory" not in str(name):
            pytest.skip(f"the write lock needs the shared-cache SQLite test database, not {connection.vendor} {name}")
        # Also the way in for the test's own reads while the app's connections are locked out of writing.
        self.conn = sqlite3.connect(str(name), uri=True, isolation_level=None, check_same_thread=False)
        self.held = False

    def take(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.conn.execute("COMMIT")
            self.held = False

    def turns(self, call_pk: int) -> list[tuple[int, str, str]]:
        return self.conn.execute("SELECT \"index\", role, text FROM calls_turn WHERE call_id = ? ORDER BY \"index\"",
                                 (call_pk,)).fetchall()

    def close(self) -> None:
        self.release()
        self.conn.close()
