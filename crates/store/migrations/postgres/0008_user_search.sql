-- Tessera schema v8 (PostgreSQL): listing a tenant's users a page at a time without reading
-- them all. An index on (tenant, rowid) serves pages in creation order; the count per tenant is
-- kept by triggers, so a total needs no scan of a million rows.

CREATE INDEX users_tenant ON users (tenant_id, rowid);

CREATE TABLE user_counts (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    n         BIGINT NOT NULL
);
INSERT INTO user_counts (tenant_id, n) SELECT tenant_id, COUNT(*) FROM users GROUP BY tenant_id;

-- Statement-level, over the statement's rows: a bulk insert (COPY, an import) updates the
-- count once, not once per row (a million updates of one row in one transaction crawl).
CREATE FUNCTION tessera_users_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO user_counts (tenant_id, n)
        SELECT tenant_id, COUNT(*) FROM added GROUP BY tenant_id
    ON CONFLICT (tenant_id) DO UPDATE SET n = user_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE FUNCTION tessera_users_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_counts c SET n = c.n - r.n
        FROM (SELECT tenant_id, COUNT(*) AS n FROM removed GROUP BY tenant_id) r
        WHERE c.tenant_id = r.tenant_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_count_added AFTER INSERT ON users
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION tessera_users_added();
CREATE TRIGGER users_count_removed AFTER DELETE ON users
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION tessera_users_removed();
