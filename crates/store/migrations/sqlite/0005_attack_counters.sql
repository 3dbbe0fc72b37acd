-- Tessera schema v5 (SQLite): attack-protection counters (failed sign-ins per email and IP,
-- per IP, and token requests per application), shared by every node on the database.
-- `subject` is a SHA-256 of the email or a client id; rows past `expires_at` count as zero and
-- are purged with expired artifacts.

CREATE TABLE attack_counters (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('user_ip', 'ip', 'client')),
    subject    TEXT NOT NULL,
    ip         TEXT NOT NULL,
    hits       INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, subject, ip)
);

CREATE INDEX attack_counters_expiry ON attack_counters (expires_at);
