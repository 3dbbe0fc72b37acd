-- Tessera schema v1 (SQLite). Every row carries its tenant. Objects are JSON documents in
-- `data`, with the columns that are looked up, unique or joined on kept beside them.

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    data           TEXT NOT NULL,
    config_version INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE clients (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE resource_servers (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    identifier TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, identifier)
);

CREATE TABLE client_grants (
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

CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    email     TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE signing_keys (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kid         TEXT NOT NULL,
    alg         TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('current', 'previous')),
    created_at  INTEGER NOT NULL,
    rotated_at  INTEGER,
    private_enc BLOB NOT NULL,
    public_jwk  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);
-- At most one current key per algorithm.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id, alg) WHERE status = 'current';

-- Any change to configuration bumps the tenant's config_version, which nodes poll to refresh
-- their caches. Triggers, so no write path can forget.
CREATE TRIGGER clients_ai AFTER INSERT ON clients BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER clients_au AFTER UPDATE ON clients BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER clients_ad AFTER DELETE ON clients BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id; END;
CREATE TRIGGER resource_servers_ai AFTER INSERT ON resource_servers BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER resource_servers_au AFTER UPDATE ON resource_servers BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER resource_servers_ad AFTER DELETE ON resource_servers BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id; END;
CREATE TRIGGER client_grants_ai AFTER INSERT ON client_grants BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER client_grants_au AFTER UPDATE ON client_grants BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER client_grants_ad AFTER DELETE ON client_grants BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id; END;
CREATE TRIGGER signing_keys_ai AFTER INSERT ON signing_keys BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER signing_keys_au AFTER UPDATE ON signing_keys BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER signing_keys_ad AFTER DELETE ON signing_keys BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id; END;
