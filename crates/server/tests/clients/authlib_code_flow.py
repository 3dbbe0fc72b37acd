"""A regular web app's code flow with authlib, a client library nobody on this project wrote.

authlib's OAuth2Session authenticates at the token endpoint with HTTP Basic by default
(client_secret_basic). The browser part (authorize, login page, form POST) is driven with
requests. Prints one JSON line: the token response's keys and the ID token's claims.

    python authlib_code_flow.py BASE_URL CLIENT_ID CLIENT_SECRET CALLBACK EMAIL PASSWORD
"""
import html, json, re, sys, urllib.parse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

base, client_id, secret, callback, email, password = sys.argv[1:7]
session = OAuth2Session(client_id, secret, scope="openid profile email", redirect_uri=callback)
assert session.token_endpoint_auth_method == "client_secret_basic", session.token_endpoint_auth_method
url, state = session.create_authorization_url(base + "authorize", nonce="n-authlib")

browser = requests.Session()
r = browser.get(url, allow_redirects=False)
assert r.status_code in (302, 303), (r.status_code, r.text[:300])
page = browser.get(urllib.parse.urljoin(base, r.headers["location"]))
fields = {
    m.group(1): html.unescape(m.group(2))
    for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
}
form_action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
fields.update(username=email, password=password)
r = browser.post(urllib.parse.urljoin(base, html.unescape(form_action)), data=fields, allow_redirects=False)
assert r.status_code in (302, 303), (r.status_code, r.text[:300])
authorization_response = r.headers["location"]
assert authorization_response.startswith(callback), authorization_response

token = session.fetch_token(base + "oauth/token", authorization_response=authorization_response, state=state)
jwks = JsonWebKey.import_key_set(requests.get(base + ".well-known/jwks.json").json())
claims = jwt.decode(token["id_token"], jwks)
claims.validate()
assert claims["aud"] == client_id and claims["nonce"] == "n-authlib", dict(claims)
print(json.dumps({"token_keys": sorted(token.keys()), "id_token": dict(claims)}))
