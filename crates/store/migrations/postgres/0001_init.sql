-- Tessera schema v1 (PostgreSQL), the same tables as SQLite's v1. Every row carries its
-- tenant. Objects are JSON documents in `data`, with the columns that are looked up, unique or
-- joined on kept beside them. `rowid` stands in for SQLite's implicit one: creation order,
-- and the same query text on both backends.

CREATE TABLE tenants (
    rowid          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id             TEXT PRIMARY KEY,
    data           TEXT NOT NULL,
    config_version BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE clients (
    rowid     BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE resource_servers (
    rowid      BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    identifier TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, identifier)
);

CREATE TABLE client_grants (
    rowid     BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    client_id TEXT NOT NULL,
    audience  TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, client_id, audience),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients(tenant_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, audience) REFERENCES resource_servers(tenant_id, identifier) ON DELETE CASCADE
);
CREATE INDEX client_grants_audience ON client_grants (tenant_id, audience);

CREATE TABLE users (
    rowid     BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    email     TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE signing_keys (
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kid         TEXT NOT NULL,
    alg         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('current', 'previous')),
    created_at  BIGINT NOT NULL,
    rotated_at  BIGINT,
    private_enc BYTEA NOT NULL,
    public_jwk  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);
-- At most one current key per algorithm.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id, alg) WHERE status = 'current';

-- Any change to configuration bumps the tenant's config_version, which nodes poll to refresh
-- their caches. Triggers, so no write path (and no other node) can forget.
CREATE FUNCTION tessera_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id;
    ELSE
        UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION tessera_config_changed();
CREATE TRIGGER resource_servers_changed AFTER INSERT OR UPDATE OR DELETE ON resource_servers
    FOR EACH ROW EXECUTE FUNCTION tessera_config_changed();
CREATE TRIGGER client_grants_changed AFTER INSERT OR UPDATE OR DELETE ON client_grants
    FOR EACH ROW EXECUTE FUNCTION tessera_config_changed();
CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION tessera_config_changed();
