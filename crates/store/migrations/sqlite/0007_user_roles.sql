-- Tessera schema v7 (SQLite): which users hold which roles, one row per assignment (they were
-- an array in each user's document), so deleting a role deletes its rows instead of rewriting
-- every user, and a role's users are found by an index. `position` keeps assignment order.

CREATE TABLE user_roles (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    role_id   TEXT NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_roles_role ON user_roles (tenant_id, role_id, user_id);

-- The arrays become rows (ids of roles deleted meanwhile are dropped, as reads skipped them).
INSERT INTO user_roles (tenant_id, user_id, role_id, position)
SELECT u.tenant_id, u.user_id, j.value, MIN(j.key) + 1
FROM users u, json_each(u.data, '$.roles') j
JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = j.value
GROUP BY u.tenant_id, u.user_id, j.value;

UPDATE users SET data = json_remove(data, '$.roles') WHERE json_type(data, '$.roles') IS NOT NULL;
