"""auth0-python's GetToken.login(..., realm=...): the password-realm grant as Auth0's SDK sends
it. Prints the token response as JSON, or the SDK's error as {"error": ..., "status": ...}.

    python auth0_password_realm.py HOST:PORT CLIENT_ID CLIENT_SECRET EMAIL PASSWORD REALM AUDIENCE
"""
import json, sys

from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error

domain, client_id, secret, email, password, realm, audience = sys.argv[1:8]
get_token = GetToken(domain, client_id, client_secret=secret, protocol="http")
try:
    token = get_token.login(
        username=email, password=password, realm=realm, audience=audience, scope="openid read:x"
    )
    print(json.dumps(token))
except Auth0Error as e:
    print(json.dumps({"error": e.error_code, "status": e.status_code, "message": e.message}))
