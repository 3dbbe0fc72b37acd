-- Tessera schema v9 (PostgreSQL): tenant log events (Auth0's /api/v2/logs). `log_id` sorts in
-- time order; the event itself is a JSON document; type, user and application are indexed
-- columns.

CREATE TABLE logs (
    rowid     BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    log_id    TEXT NOT NULL,
    date      BIGINT NOT NULL,
    type      TEXT NOT NULL,
    user_id   TEXT,
    client_id TEXT,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, log_id)
);
CREATE INDEX logs_user ON logs (tenant_id, user_id, log_id);
CREATE INDEX logs_client ON logs (tenant_id, client_id, log_id);
CREATE INDEX logs_type ON logs (tenant_id, type, log_id);
CREATE INDEX logs_date ON logs (date);
