-- +goose Up
-- The transactional outbox: events written in the transaction of the change
-- they describe.
CREATE TABLE events (
    id         TEXT   PRIMARY KEY, -- time-ordered: the outbox order
    type       TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    data       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_subject ON events (subject, id);

-- +goose Down
DROP TABLE events;
