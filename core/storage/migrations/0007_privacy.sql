-- Personal data (issue 18): customers whose data was erased, the acts of erasure, and the
-- secret the acts' hashes are made with.

-- When the customer's data was erased. The row stays, anonymous (no id, name or state),
-- so that their cases still count in the KPIs; a new message from the same person starts
-- a new conversation.
ALTER TABLE conversations ADD COLUMN erased_at DOUBLE PRECISION;

-- The act of each erasure (Roskomnadzor order 179: what was destroyed, when, why, by whom).
-- The customer is named only by `customer_hash`, a salted slow hash of "channel:id", so a
-- repeated request is recognised and nobody can read the id back; `label` (K + 8 hex
-- digits of the hash) is how operators and logs refer to them. Bulk retention passes
-- leave one act each, with no customer. `farewell_id`: the outbox item telling the
-- customer it is done, deleted (and this cleared) once it has been sent. `model_stale`:
-- labelled texts were removed, and the intent model (which holds words of what it was
-- trained on) is to be trained again without them; cleared once it has been.
CREATE TABLE erasures (
    id {id},
    channel TEXT NOT NULL DEFAULT '',
    customer_hash TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at DOUBLE PRECISION NOT NULL,
    done_at DOUBLE PRECISION NOT NULL,
    removed TEXT NOT NULL DEFAULT '{}',
    farewell_id BIGINT,
    model_stale INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX erasures_customer ON erasures (customer_hash);

-- Secrets generated once by the first process that needs them (the salt of the acts'
-- hashes), shared by every replica and every command through the database.
CREATE TABLE privacy_secrets (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
