"""Auth0's own Python SDK (auth0-python's generated Management API client) against Tessera's
/api/v2: create, list (through the SDK's pagers, which must end), get, update and delete
clients, APIs, client grants, users and roles. Prints one JSON line with what it saw.

usage: management.py BASE_URL TOKEN   (BASE_URL like http://127.0.0.1:PORT/api/v2)
"""

import json
import sys

from auth0.management.client import Auth0


def main() -> None:
    base_url, token = sys.argv[1], sys.argv[2]
    api = Auth0(base_url=base_url, token=token, max_retries=0)
    seen = {}

    # Clients: 3 new ones, listed 2 per page through the pager.
    made = [
        api.clients.create(name=f"sdk-{i}", app_type="regular_web", callbacks=["https://sdk.example/cb"])
        for i in range(3)
    ]
    assert all(c.client_secret for c in made), "a confidential client shows its secret once"
    listed = [c.client_id for c in api.clients.list(per_page=2)]
    seen["clients_listed"] = len(listed)
    assert all(c.client_id in listed for c in made)
    got = api.clients.get(made[0].client_id)
    seen["client_name"] = got.name
    updated = api.clients.update(made[0].client_id, name="sdk-renamed")
    seen["client_renamed"] = updated.name
    rotated = api.clients.rotate_secret(made[1].client_id)
    seen["secret_rotated"] = bool(rotated.client_secret) and rotated.client_secret != made[1].client_secret

    # An API, a grant for it.
    rs = api.resource_servers.create(
        identifier="https://sdk-api.example/",
        name="SDK API",
        scopes=[{"value": "read:things", "description": "Read things"}],
    )
    apis = [r.identifier for r in api.resource_servers.list(per_page=1)]
    seen["apis_listed"] = len(apis)
    assert rs.identifier in apis
    rs2 = api.resource_servers.update(rs.id, token_lifetime=600)
    seen["api_lifetime"] = rs2.token_lifetime
    grant = api.client_grants.create(client_id=made[2].client_id, audience=rs.identifier, scope=["read:things"])
    grants = [g.id for g in api.client_grants.list(take=1)]
    seen["grants_listed"] = len(grants)
    assert grant.id in grants
    api.client_grants.update(grant.id, scope=[])
    api.client_grants.delete(grant.id)

    # Users: 3 new ones, listed and searched.
    users = [
        api.users.create(
            connection="Username-Password-Authentication",
            email=f"sdk{i}@example.com",
            password="correct horse battery staple",
            app_metadata={"plan": "pro" if i else "free"},
        )
        for i in range(3)
    ]
    seen["users_listed"] = len([u.user_id for u in api.users.list(per_page=2)])
    found = list(api.users.list(q='email:"sdk1@example.com"', search_engine="v3"))
    seen["users_found"] = [u.email for u in found]
    by_email = api.users.list_users_by_email(email="sdk2@example.com")
    seen["by_email"] = [u.email for u in by_email]
    u = api.users.update(users[0].user_id, app_metadata={"team": "blue"})
    seen["merged_metadata"] = u.app_metadata

    # Roles, assigned to a user.
    role = api.roles.create(name="sdk-admin", description="SDK")
    seen["roles_listed"] = len([r.id for r in api.roles.list(per_page=1)])
    api.users.roles.assign(users[0].user_id, roles=[role.id])
    seen["user_roles"] = [r.name for r in api.users.roles.list(users[0].user_id)]
    api.roles.delete(role.id)

    # Deletes.
    for c in made:
        api.clients.delete(c.client_id)
    api.resource_servers.delete(rs.id)
    for x in users:
        api.users.delete(x.user_id)
    seen["clients_after"] = len([c.client_id for c in api.clients.list()])
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
