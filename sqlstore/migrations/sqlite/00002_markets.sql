-- +goose Up
-- Markets: the countries shopd sells in. currency and tax_mode never change
-- after creation (every price in the market depends on them).
CREATE TABLE markets (
    code           TEXT    PRIMARY KEY, -- lower-case, e.g. "us"
    name           TEXT    NOT NULL,
    country        TEXT    NOT NULL,    -- ISO 3166-1 alpha-2
    currency       TEXT    NOT NULL,    -- ISO 4217
    tax_mode       TEXT    NOT NULL,    -- exclusive | inclusive
    rounding       TEXT    NOT NULL,    -- half_up | half_even
    languages      TEXT    NOT NULL,    -- JSON array of BCP 47 tags
    default_locale TEXT    NOT NULL,
    time_zone      TEXT    NOT NULL,    -- IANA
    enabled        INTEGER NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- Tax rates by market, region ('' = every region) and tax category. rate is
-- in millionths (13% = 130000).
CREATE TABLE tax_rates (
    id         TEXT   PRIMARY KEY,
    market     TEXT   NOT NULL REFERENCES markets (code),
    region     TEXT   NOT NULL,
    category   TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    rate       BIGINT NOT NULL CHECK (rate >= 0 AND rate <= 1000000),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (market, region, category, name)
);

-- Shipping rates per market, in the market's currency (minor units).
CREATE TABLE shipping_rates (
    id                TEXT    PRIMARY KEY,
    market            TEXT    NOT NULL REFERENCES markets (code),
    name              TEXT    NOT NULL,
    region            TEXT    NOT NULL,
    currency          TEXT    NOT NULL,
    price             BIGINT  NOT NULL CHECK (price >= 0),
    free_above        BIGINT  CHECK (free_above >= 0), -- NULL: never free
    min_delivery_days INTEGER NOT NULL,
    max_delivery_days INTEGER NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    UNIQUE (market, region, name)
);

-- +goose Down
DROP TABLE shipping_rates;
DROP TABLE tax_rates;
DROP TABLE markets;
