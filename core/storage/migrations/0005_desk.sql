-- The operators' desk: several groups (departments), who is an operator, shifts and
-- round-robin assignment, SLA alerts, and which customer messages operators have seen.

-- The group (department) a case is handled in; 'main' is the operators' group.
ALTER TABLE tickets ADD COLUMN department TEXT NOT NULL DEFAULT 'main';
CREATE INDEX tickets_department ON tickets (department, status);

-- A customer has a topic in each operators' group that handled one of their cases.
CREATE TABLE operator_threads_by_group (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    chat_id TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (conversation_id, chat_id)
);
INSERT INTO operator_threads_by_group (conversation_id, chat_id, thread_id, created_at)
    SELECT conversation_id, chat_id, thread_id, created_at FROM operator_threads;
DROP TABLE operator_threads;
ALTER TABLE operator_threads_by_group RENAME TO operator_threads;
CREATE INDEX operator_threads_topic ON operator_threads (chat_id, thread_id);

-- Members of the operators' groups as Telegram reported them (getChatMember, chat_member
-- updates): a cache shared by replicas, the directory for `/assign @name`, and whether an
-- outsider was told once that the bot ignores them.
CREATE TABLE desk_members (
    chat_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    checked_at DOUBLE PRECISION NOT NULL,
    noticed_at DOUBLE PRECISION,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX desk_members_username ON desk_members (username);

-- Who is on shift in which department; new cases go round-robin to the one assigned
-- longest ago.
CREATE TABLE desk_shifts (
    department TEXT NOT NULL,
    operator_id TEXT NOT NULL,
    name TEXT NOT NULL,
    on_shift INTEGER NOT NULL DEFAULT 0,
    changed_at DOUBLE PRECISION NOT NULL,
    last_assigned_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (department, operator_id)
);

-- SLA alerts already raised: each (case, target, level) once.
CREATE TABLE sla_alerts (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    target TEXT NOT NULL,
    level TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (ticket_id, target, level)
);

-- The card of a case in an operators' group, and the customer messages operators were
-- shown (in a card or a post), so that none is shown twice.
CREATE TABLE desk_cards (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (ticket_id, chat_id)
);
CREATE TABLE desk_shown (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    ticket_id BIGINT NOT NULL,
    shown_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX desk_shown_ticket ON desk_shown (ticket_id);
