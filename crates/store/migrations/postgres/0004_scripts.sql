-- Tessera schema v4 (PostgreSQL): Actions and Rules, the scripts that shape tokens. Changing
-- one bumps the tenant's config_version, like any other configuration.

CREATE TABLE scripts (
    rowid     BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('action', 'rule')),
    name      TEXT NOT NULL,
    ord       BIGINT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, kind, name)
);

CREATE TRIGGER scripts_changed AFTER INSERT OR UPDATE OR DELETE ON scripts
    FOR EACH ROW EXECUTE FUNCTION tessera_config_changed();
