-- Tessera schema v8 (PostgreSQL): listing a tenant's users a page at a time without reading
-- them all. An index on (tenant, rowid) serves pages in creation order; the count per tenant is
-- kept by a trigger, so a total needs no scan of a million rows.

CREATE INDEX users_tenant ON users (tenant_id, rowid);

CREATE TABLE user_counts (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    n         BIGINT NOT NULL
);
INSERT INTO user_counts (tenant_id, n) SELECT tenant_id, COUNT(*) FROM users GROUP BY tenant_id;

CREATE FUNCTION tessera_users_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_counts (tenant_id, n) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET n = user_counts.n + 1;
    ELSE
        UPDATE user_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tessera_users_count();
