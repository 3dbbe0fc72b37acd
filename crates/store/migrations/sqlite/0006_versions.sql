-- Tessera schema v6 (SQLite): every object that is read, changed and written back carries the
-- number of its writes. An update names the version it read (`WHERE version = …`), so a slow
-- writer fails instead of undoing a change that came in between. The same number is in the
-- JSON document; rows written before v6 are version 0 in both.

ALTER TABLE tenants ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE resource_servers ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE client_grants ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE roles ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scripts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

-- A password change, a block or a deletion ends every session and token of the user.
CREATE INDEX artifacts_user ON artifacts (tenant_id, user_id);
