-- +goose Up
-- Beauty profiles: a customer's style-quiz answers, read and replaced as a
-- whole (JSON), scored by box allocation.
CREATE TABLE customer_profiles (
    customer_id TEXT   PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    profile     TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE customer_profiles;
