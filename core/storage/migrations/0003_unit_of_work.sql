-- A turn as a unit of work: claims of inbound updates, versioned conversations, the
-- durable intake, live workers, outbox claims with send progress, post budgets shared by
-- replicas, and the published intent model.

-- Grows with every write to the conversation or its tickets: a turn decided on an older
-- version is decided again on fresh state.
ALTER TABLE conversations ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Every applied inbound update (customer or operator), by its id in its channel; written
-- in the same transaction as the update's effects.
CREATE TABLE claims (
    external_id TEXT PRIMARY KEY,
    claimed_at DOUBLE PRECISION NOT NULL
){without_rowid};

-- Updates received (and acknowledged to the messenger) but not applied yet. Applied in
-- `seq` order within a partition (one chat, one operators' topic).
CREATE TABLE inbox (
    id {id},
    source TEXT NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    partition_key TEXT NOT NULL,
    seq BIGINT NOT NULL,
    payload TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX inbox_partition ON inbox (status, partition_key, seq, id);

-- Which process applies a partition's updates now.
CREATE TABLE inbox_leases (
    partition_key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    leased_at DOUBLE PRECISION NOT NULL
);

-- Running processes. One whose heartbeat went stale has died: its leases and outbox
-- claims are free for the others.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    heartbeat DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    info TEXT NOT NULL DEFAULT ''
);

-- Outbox items are claimed by a live worker (no fixed lease), and a multi-step send
-- remembers the steps already done. An item whose worker died while it was claimed may
-- have reached the messenger just before: it is sent again, and marked `in_doubt`.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
ALTER TABLE outbox ADD COLUMN in_doubt INTEGER NOT NULL DEFAULT 0;
-- Only pending items are looked for; sent ones stay out of the index (a commit touches
-- fewer pages, and the claims stay fast however long the history grows).
DROP INDEX outbox_due;
DROP INDEX outbox_recipient;
CREATE INDEX outbox_pending ON outbox (channel, recipient, id) WHERE status = 'pending';
ALTER TABLE outbox DROP COLUMN locked_until;

-- Posts reserved in a rate-limited chat (the operators' group), for all replicas at once.
CREATE TABLE post_budget_keys (
    budget_key TEXT PRIMARY KEY
);
CREATE TABLE post_budget (
    budget_key TEXT NOT NULL,
    reserved_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX post_budget_window ON post_budget (budget_key, reserved_at);

-- Intent models published by `supportbot train`, loaded by every replica.
CREATE TABLE intent_models (
    fingerprint TEXT PRIMARY KEY,
    model {blob} NOT NULL,
    published_at DOUBLE PRECISION NOT NULL
);
