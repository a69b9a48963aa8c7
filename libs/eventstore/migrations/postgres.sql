-- Inkan event store schema for PostgreSQL.
--
-- Idempotent: `PgEventStore::migrate` runs it on every start, inside one
-- transaction that holds an advisory lock (so two replicas starting together
-- cannot race) and with `search_path` set to the deployment's schema (so the
-- unqualified names below land in that schema).

-- The log. `position` is global, gap-free and assigned by the store under an
-- advisory lock (not a sequence: sequences leave gaps on rollback and hand out
-- numbers in an order that commits need not follow).
CREATE TABLE IF NOT EXISTS events (
    position    BIGINT PRIMARY KEY CHECK (position >= 1),
    id          UUID   NOT NULL UNIQUE,
    stream_id   UUID   NOT NULL,
    stream_type TEXT   NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    event_type  TEXT   NOT NULL,
    payload     JSONB  NOT NULL,
    metadata    JSONB  NOT NULL,
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);

-- Cross-aggregate uniqueness (an email, a client id): a key is held by
-- exactly one stream until that stream releases it.
CREATE TABLE IF NOT EXISTS unique_keys (
    scope     TEXT NOT NULL,
    value     TEXT NOT NULL,
    stream_id UUID NOT NULL,
    PRIMARY KEY (scope, value)
);

CREATE INDEX IF NOT EXISTS unique_keys_stream_id_idx ON unique_keys (stream_id);

-- Named read positions (e.g. the relay's last published position).
CREATE TABLE IF NOT EXISTS cursors (
    name     TEXT   PRIMARY KEY,
    position BIGINT NOT NULL
);
