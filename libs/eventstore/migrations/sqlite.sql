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

-- Read models: the admin's projections, checkpointed (libs/readmodel). One row
-- per live aggregate: its state as JSON (`state`), the credential hash the
-- JSON leaves out (`secret`), the lookup column (`lookup_key`: the client id
-- of a project, the normalised email of an identity), its version, and its
-- first and last event times as Unix nanoseconds. They may be emptied and
-- rebuilt from the log at any time (`inkan projections rebuild`).
CREATE TABLE IF NOT EXISTS rm_projects (
    id         TEXT    PRIMARY KEY,
    lookup_key TEXT,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    secret     TEXT
) STRICT;

CREATE TABLE IF NOT EXISTS rm_identities (
    id         TEXT    PRIMARY KEY,
    lookup_key TEXT,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    secret     TEXT
) STRICT;

-- Not unique: within one batch an email may move from one identity to
-- another, and the log's unique_keys already enforce uniqueness.
CREATE INDEX IF NOT EXISTS rm_identities_lookup_key_idx ON rm_identities (lookup_key);
CREATE INDEX IF NOT EXISTS rm_identities_created_idx ON rm_identities (created_at, id);

CREATE TABLE IF NOT EXISTS rm_signing_keys (
    id         TEXT    PRIMARY KEY,
    lookup_key TEXT,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    secret     TEXT
) STRICT;

-- The log position the read-model tables reflect (exactly one row).
CREATE TABLE IF NOT EXISTS rm_checkpoint (
    one      INTEGER PRIMARY KEY CHECK (one = 1),
    position INTEGER NOT NULL CHECK (position >= 0)
) STRICT;
INSERT OR IGNORE INTO rm_checkpoint (one, position) VALUES (1, 0);
