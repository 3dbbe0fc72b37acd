#!/usr/bin/env python3
"""What a simple post-login Action adds to a login, on a release `tessera`.

Signs in once (one password hash), then times N silent /authorize requests with the session
cookie (each issues a code and runs the post-login trigger), first with no scripts, then with a
deployed action that calls api.accessToken.setCustomClaim. Sequential requests, so these are
latencies; the difference of the two is the action's cost per login.

    cargo build --release -p tessera && python3 bench/action_cost.py
"""
import base64, hashlib, http.cookiejar, json, os, re, shutil, statistics, subprocess, sys
import tempfile, time, urllib.parse, urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "target", "release", "tessera")
PORT, N = 3113, 1000
BASE = f"http://127.0.0.1:{PORT}"
CB = "https://app.example.com/callback"
API = "https://api.example.com"
data = tempfile.mkdtemp(prefix="tessera-bench-")
env = dict(os.environ, TESSERA_DATA_DIR=data, TESSERA_LOG="warn")
ACTION = """exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim('https://example.com/app_metadata', event.user.app_metadata);
};"""

def cli(*args):
    return json.loads(subprocess.run([BIN, *args, "--json"], env=env, check=True, capture_output=True, text=True).stdout)

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None

def call(opener, url, data=None):
    try:
        r = opener.open(url, data=data.encode() if data else None)
    except urllib.error.HTTPError as e:
        r = e
    return r.status, r.headers, r.read().decode()

def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))] * 1000

try:
    # The CLI works on an existing installation: make it first.
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    spa = cli("apps", "create", "--name", "bench", "--type", "spa", "--callbacks", CB)["client_id"]
    cli("apis", "create", "--name", "API", "--identifier", API)
    cli("users", "create", "--email", "ann@example.com", "--password", "correct horse battery", "--app-metadata", '{"plan":"gold"}')
    server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}"], env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(BASE + "/healthz"); break
        except Exception:
            time.sleep(0.01)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).rstrip(b"=").decode()
    q = urllib.parse.urlencode({"client_id": spa, "redirect_uri": CB, "response_type": "code", "scope": "openid",
                                "audience": API, "code_challenge": challenge, "code_challenge_method": "S256"})
    b = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    _, h, _ = call(b, f"{BASE}/authorize?{q}")
    _, _, page = call(b, BASE + h["Location"])
    fields = dict(re.findall(r'name="(state|csrf)" value="([^"]*)"', page))
    call(b, BASE + "/u/login", urllib.parse.urlencode({**fields, "username": "ann@example.com", "password": "correct horse battery"}))

    def measure():
        out = []
        for _ in range(N):
            t = time.perf_counter()
            _, h, _ = call(b, f"{BASE}/authorize?{q}")
            out.append(time.perf_counter() - t)
            assert "code=" in h["Location"], h["Location"]
        return out

    measure()  # warm-up
    without = measure()
    path = os.path.join(data, "action.js")
    open(path, "w").write(ACTION)
    cli("actions", "create", "--name", "claim", "--trigger", "post-login", "--file", path, "--deploy")
    time.sleep(0.5)
    measure()  # warm-up (per-thread runtimes)
    with_action = measure()
    for name, s in [("without_action", without), ("with_action", with_action)]:
        print(f"{name} n={N} p50={pct(s, 0.5):.3f}ms p99={pct(s, 0.99):.3f}ms")
    print(f"action_cost p50={pct(with_action, 0.5) - pct(without, 0.5):.3f}ms p99={pct(with_action, 0.99) - pct(without, 0.99):.3f}ms")
    server.terminate(); server.wait()
finally:
    shutil.rmtree(data, ignore_errors=True)
