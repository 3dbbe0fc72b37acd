-- Tessera schema v4 (SQLite): Actions and Rules, the scripts that shape tokens. Changing one
-- bumps the tenant's config_version, like any other configuration.

CREATE TABLE scripts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('action', 'rule')),
    name      TEXT NOT NULL,
    ord       INTEGER NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, kind, name)
);

CREATE TRIGGER scripts_ai AFTER INSERT ON scripts BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER scripts_au AFTER UPDATE ON scripts BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = NEW.tenant_id; END;
CREATE TRIGGER scripts_ad AFTER DELETE ON scripts BEGIN UPDATE tenants SET config_version = config_version + 1 WHERE id = OLD.tenant_id; END;
