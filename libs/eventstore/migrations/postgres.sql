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

-- Read models: the admin's projections, checkpointed (libs/readmodel). One row
-- per live aggregate: its state as JSON (`state`), the credential hash the
-- JSON leaves out (`secret`), the lookup column (`lookup_key`: the client id
-- of a project, the normalised email of an identity), its version, and its
-- first and last event times as Unix nanoseconds. They may be emptied and
-- rebuilt from the log at any time (`inkan projections rebuild`).
CREATE TABLE IF NOT EXISTS rm_projects (
    id         UUID   PRIMARY KEY,
    lookup_key TEXT,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    secret     TEXT
);

CREATE TABLE IF NOT EXISTS rm_identities (
    id         UUID   PRIMARY KEY,
    lookup_key TEXT,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    secret     TEXT
);

-- Not unique: within one batch an email may move from one identity to
-- another, and the log's unique_keys already enforce uniqueness.
CREATE INDEX IF NOT EXISTS rm_identities_lookup_key_idx ON rm_identities (lookup_key);
CREATE INDEX IF NOT EXISTS rm_identities_created_idx ON rm_identities (created_at, id);

CREATE TABLE IF NOT EXISTS rm_signing_keys (
    id         UUID   PRIMARY KEY,
    lookup_key TEXT,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    secret     TEXT
);

-- The log position the read-model tables reflect (exactly one row).
CREATE TABLE IF NOT EXISTS rm_checkpoint (
    one      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    position BIGINT  NOT NULL CHECK (position >= 0)
);
INSERT INTO rm_checkpoint (one, position) VALUES (TRUE, 0) ON CONFLICT DO NOTHING;
