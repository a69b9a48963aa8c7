-- Inkan event store schema for SQLite.
--
-- Idempotent: `SqliteEventStore::migrate` runs it on every start inside a
-- `BEGIN IMMEDIATE` transaction, so two processes opening the same file
-- cannot race. UUIDs are stored as hyphenated TEXT and JSON as TEXT.
-- STRICT tables make SQLite reject values of the wrong type instead of
-- silently storing them.

-- The log. `position` is global, gap-free and assigned by the store while it
-- holds the write lock (it is also the rowid, so MAX(position) is cheap).
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY CHECK (position >= 1),
    id          TEXT    NOT NULL UNIQUE,
    stream_id   TEXT    NOT NULL,
    stream_type TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    event_type  TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    UNIQUE (stream_id, version)
) STRICT;

-- Cross-aggregate uniqueness (an email, a client id): a key is held by
-- exactly one stream until that stream releases it.
CREATE TABLE IF NOT EXISTS unique_keys (
    scope     TEXT NOT NULL,
    value     TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    PRIMARY KEY (scope, value)
) STRICT;

CREATE INDEX IF NOT EXISTS unique_keys_stream_id_idx ON unique_keys (stream_id);

-- Named read positions (e.g. the relay's last published position).
CREATE TABLE IF NOT EXISTS cursors (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;
