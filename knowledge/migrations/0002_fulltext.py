"""The chunks' full-text index: SQLite FTS5 (+ sync triggers) or a PostgreSQL GIN index, by database engine.

On an SQLite built without FTS5 (rare) nothing is created and `knowledge.search` ranks in Python instead.
"""

import logging

from django.db import migrations
from django.db.utils import OperationalError

log = logging.getLogger("knowledge.migrations")

# Plain data, frozen with this migration (knowledge.search repeats the names and the PostgreSQL expression).
FTS_TABLE = "knowledge_chunk_fts"
PG_INDEX = "knowledge_chunk_search"
# The expression the GIN index is built on; queries must repeat it verbatim for PostgreSQL to use the index.
PG_VECTOR = "to_tsvector('english', coalesce(heading, '') || ' ' || text)"

SQLITE_CREATE = [
    # External-content FTS5: the text lives once, in knowledge_chunk; triggers keep the index in step with every
    # insert, update and delete (ORM, bulk_create, cascades alike). Porter stemming: "opening" finds "open".
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
        heading, text, content='knowledge_chunk', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
    )""",
    f"""CREATE TRIGGER knowledge_chunk_ai AFTER INSERT ON knowledge_chunk BEGIN
        INSERT INTO {FTS_TABLE}(rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END""",
    f"""CREATE TRIGGER knowledge_chunk_ad AFTER DELETE ON knowledge_chunk BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, heading, text) VALUES ('delete', old.id, old.heading, old.text);
    END""",
    f"""CREATE TRIGGER knowledge_chunk_au AFTER UPDATE ON knowledge_chunk BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, heading, text) VALUES ('delete', old.id, old.heading, old.text);
        INSERT INTO {FTS_TABLE}(rowid, heading, text) VALUES (new.id, new.heading, new.text);
    END""",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS knowledge_chunk_ai",
    "DROP TRIGGER IF EXISTS knowledge_chunk_ad",
    "DROP TRIGGER IF EXISTS knowledge_chunk_au",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]
PG_CREATE = [f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON knowledge_chunk USING GIN ({PG_VECTOR})"]
PG_DROP = [f"DROP INDEX IF EXISTS {PG_INDEX}"]


def _statements(vendor: str, create: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    if vendor == "postgresql":
        return PG_CREATE if create else PG_DROP
    return []


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    try:
        for statement in _statements(vendor, create=True):
            schema_editor.execute(statement)
    except OperationalError as exc:
        if vendor != "sqlite" or "fts5" not in str(exc):
            raise
        log.warning("SQLite has no FTS5 (%s): knowledge search will rank in Python", exc)


def drop(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, create=False):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
