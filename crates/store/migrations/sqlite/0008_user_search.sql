-- Tessera schema v8 (SQLite): listing a tenant's users a page at a time without reading them
-- all. An index on the tenant alone (SQLite appends the rowid, so it is in creation order)
-- serves pages in creation order; the count per tenant is kept by triggers, so a total needs
-- no scan of a million rows.

CREATE INDEX users_tenant ON users (tenant_id);

CREATE TABLE user_counts (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    n         INTEGER NOT NULL
);
INSERT INTO user_counts (tenant_id, n) SELECT tenant_id, COUNT(*) FROM users GROUP BY tenant_id;

CREATE TRIGGER users_count_ai AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (tenant_id, n) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_count_ad AFTER DELETE ON users BEGIN
    UPDATE user_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id;
END;
