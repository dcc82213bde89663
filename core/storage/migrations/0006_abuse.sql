-- Strangers cannot flood the desk (issue 17, `core/abuse`): customers an operator linked
-- as one person, blocked customers, each customer's limit state, marks on stored
-- messages (nothing is ever dropped), the spam examples operators taught, and whether a
-- new case's customer could be verified (their card's place in the group's post budget).

-- Conversations an operator said belong to one person (`/link`): a block covers them all.
-- `person_id` is the smallest conversation id of the linked set.
CREATE TABLE customer_links (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id),
    person_id BIGINT NOT NULL,
    linked_by TEXT NOT NULL DEFAULT '',
    linked_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX customer_links_person ON customer_links (person_id);

-- Blocked customers: a row for every conversation a block covers. `ticket_id` is the case
-- the operator blocked them from; `noticed`: the customer got the one notice.
CREATE TABLE customer_bans (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id),
    ticket_id BIGINT,
    reason TEXT NOT NULL DEFAULT '',
    banned_by TEXT NOT NULL DEFAULT '',
    banned_at DOUBLE PRECISION NOT NULL,
    spam INTEGER NOT NULL DEFAULT 0,
    noticed INTEGER NOT NULL DEFAULT 0
);

-- A customer over the message limit is muted until `muted_until` (told once); their
-- messages for an open case are held for one merged post until `held_until`; a customer
-- over the case limit was told so, and hears nothing more about it until
-- `cases_told_until`.
CREATE TABLE customer_limits (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id),
    muted_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    held_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    cases_told_until DOUBLE PRECISION NOT NULL DEFAULT 0
);

-- Stored customer messages the bot did not treat as usual: limited, blocked or spam
-- (`rule` says which limit or spam rule).
CREATE TABLE message_marks (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    conversation_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    rule TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX message_marks_time ON message_marks (created_at, kind);

-- Texts operators marked as spam (`/spam`): the `known_spam` rule matches messages like them.
CREATE TABLE spam_examples (
    id {id},
    normalized TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    ticket_id BIGINT,
    added_by TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);

-- Whether a new case's customer was verified when it opened (a valid order, VIP, earlier
-- resolved cases): an unverified customer's card yields the group's budget to the others.
CREATE TABLE case_lanes (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id),
    verified INTEGER NOT NULL,
    reason TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

-- Cases a customer opened in the last day (the case limit).
CREATE INDEX tickets_conversation ON tickets (conversation_id, created_at);
