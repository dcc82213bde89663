-- Operators' intent labels for retraining, and the pool of compensation promo codes.

CREATE TABLE intent_labels (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    intent TEXT NOT NULL,
    labelled_by TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE promo_codes (
    code TEXT PRIMARY KEY,
    ticket_id BIGINT REFERENCES tickets (id),
    issued_by TEXT,
    issued_at DOUBLE PRECISION
);
CREATE INDEX promo_codes_free ON promo_codes (ticket_id, code);
