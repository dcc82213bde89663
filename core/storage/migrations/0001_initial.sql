-- Conversations, tickets, the message log, the delivery outbox and the operators' threads.
-- {id} is replaced by the dialect's auto-increment primary key.

CREATE TABLE conversations (
    id {id},
    channel TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    profile_url TEXT NOT NULL DEFAULT '',
    step TEXT NOT NULL DEFAULT 'idle',
    slots TEXT NOT NULL DEFAULT '{}',
    misunderstandings INTEGER NOT NULL DEFAULT 0,
    vip INTEGER NOT NULL DEFAULT 0,
    manager TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    UNIQUE (channel, user_id)
);

CREATE TABLE tickets (
    id {id},
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    channel TEXT NOT NULL,
    user_id TEXT NOT NULL,
    intent TEXT NOT NULL DEFAULT '',
    order_number TEXT,
    reason TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    priority INTEGER NOT NULL DEFAULT 0,
    vip INTEGER NOT NULL DEFAULT 0,
    conflict INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'waiting',
    operator_id TEXT,
    operator_name TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    first_response_at DOUBLE PRECISION,
    last_operator_at DOUBLE PRECISION,
    last_customer_at DOUBLE PRECISION,
    closed_at DOUBLE PRECISION,
    closed_by TEXT,
    rating INTEGER,
    rating_comment TEXT
);
-- At most one open ticket per customer, enforced by the database itself.
CREATE UNIQUE INDEX tickets_one_open ON tickets (conversation_id) WHERE status <> 'closed';
CREATE INDEX tickets_status ON tickets (status, priority, created_at);

CREATE TABLE messages (
    id {id},
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    ticket_id BIGINT REFERENCES tickets (id),
    direction TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    attachments TEXT NOT NULL DEFAULT '[]',
    intent TEXT,
    confidence DOUBLE PRECISION,
    author TEXT NOT NULL DEFAULT '',
    external_id TEXT UNIQUE,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_ticket ON messages (ticket_id, id);

CREATE TABLE outbox (
    id {id},
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    ticket_id BIGINT,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    locked_until DOUBLE PRECISION,
    last_error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    sent_at DOUBLE PRECISION
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (channel, recipient, status, id);

CREATE TABLE operator_threads (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id),
    chat_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE operator_posts (
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    PRIMARY KEY (chat_id, message_id)
);
