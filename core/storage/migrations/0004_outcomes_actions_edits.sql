-- What the bot solved by itself, the self-service actions it sent to the shop's order API,
-- where operators' replies landed in customers' chats (to relay edits), and case events
-- the tickets table does not keep (reopenings).

CREATE TABLE bot_outcomes (
    id {id},
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    kind TEXT NOT NULL,
    intent TEXT,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX bot_outcomes_time ON bot_outcomes (created_at, conversation_id);

CREATE TABLE order_actions (
    id {id},
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    order_number TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX order_actions_time ON order_actions (created_at);
CREATE INDEX order_actions_key ON order_actions (idempotency_key);

CREATE TABLE reply_copies (
    source TEXT PRIMARY KEY,
    ticket_id BIGINT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_ids TEXT NOT NULL DEFAULT '[]',
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE ticket_events (
    id {id},
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, kind);
