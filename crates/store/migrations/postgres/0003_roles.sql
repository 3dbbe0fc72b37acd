-- Tessera schema v3 (PostgreSQL): roles for RBAC. A role's permissions live in its JSON
-- document; users carry the ids of their roles in theirs.

CREATE TABLE roles (
    rowid     BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    name      TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
