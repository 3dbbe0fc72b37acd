-- Tessera schema v2 (PostgreSQL): short-lived grant artifacts (login transactions, sessions,
-- authorization codes, opaque access tokens, refresh tokens). A row is named by the SHA-256 of
-- its secret; `family` groups what is revoked together; `consumed_at` makes single use atomic.

CREATE TABLE artifacts (
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    id_hash     TEXT NOT NULL,
    family      TEXT NOT NULL,
    client_id   TEXT,
    user_id     TEXT,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    PRIMARY KEY (tenant_id, kind, id_hash)
);
CREATE INDEX artifacts_family ON artifacts (tenant_id, family);
CREATE INDEX artifacts_expiry ON artifacts (expires_at);
