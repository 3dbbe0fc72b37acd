#!/usr/bin/env python3
"""Latency of the interactive flow on a release `tessera`, one request at a time: the whole
authorization code + PKCE flow (GET /authorize -> GET /u/login -> POST /u/login -> POST
/oauth/token, which includes one argon2id password check), a silent SSO /authorize with the
session cookie, and /userinfo with an opaque token. Sequential, so these are latencies, not
throughput (bench/run, issue 6, will measure throughput with a real load generator).

    cargo build --release -p tessera && python3 bench/login_flow.py
"""
import base64, hashlib, http.cookiejar, json, os, re, shutil, statistics, subprocess, sys
import tempfile, time, urllib.parse, urllib.request

BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "target", "release", "tessera")
PORT, N = 3112, 100
BASE = f"http://127.0.0.1:{PORT}"
CB = "https://app.example.com/callback"
data = tempfile.mkdtemp(prefix="tessera-bench-")
env = dict(os.environ, TESSERA_DATA_DIR=data, TESSERA_LOG="warn")

def cli(*args):
    return json.loads(subprocess.run([BIN, *args, "--json"], env=env, check=True, capture_output=True, text=True).stdout)

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None

def browser():
    return urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

def call(opener, url, data=None):
    try:
        r = opener.open(url, data=data.encode() if data else None)
    except urllib.error.HTTPError as e:
        r = e
    return r.status, r.headers, r.read().decode()

verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

def ms(samples):
    s = sorted(samples)
    return f"p50={statistics.median(s)*1000:.2f}ms p90={s[int(len(s)*0.9)]*1000:.2f}ms"

try:
    # The CLI works on an existing installation: make it first.
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    spa = cli("apps", "create", "--name", "bench", "--type", "spa", "--callbacks", CB)["client_id"]
    cli("users", "create", "--email", "ann@example.com", "--password", "correct horse battery")
    server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}"], env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(BASE + "/healthz"); break
        except Exception:
            time.sleep(0.01)
    q = urllib.parse.urlencode({"client_id": spa, "redirect_uri": CB, "response_type": "code", "scope": "openid profile email",
                                "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"})
    full, silent, info = [], [], []
    for _ in range(N):
        b = browser()
        t = time.perf_counter()
        _, h, _ = call(b, f"{BASE}/authorize?{q}")
        _, _, page = call(b, BASE + h["Location"])
        fields = dict(re.findall(r'name="(state|csrf)" value="([^"]*)"', page))
        form = urllib.parse.urlencode({**fields, "username": "ann@example.com", "password": "correct horse battery"})
        _, h, _ = call(b, BASE + "/u/login", form)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(h["Location"]).query)["code"][0]
        st, _, body = call(b, BASE + "/oauth/token", urllib.parse.urlencode(
            {"grant_type": "authorization_code", "client_id": spa, "code": code, "code_verifier": verifier, "redirect_uri": CB}))
        full.append(time.perf_counter() - t)
        assert st == 200, body
        token = json.loads(body)["access_token"]
        t = time.perf_counter()
        _, h, _ = call(b, f"{BASE}/authorize?{q}")
        silent.append(time.perf_counter() - t)
        assert "code=" in h["Location"]
        req = urllib.request.Request(BASE + "/userinfo", headers={"Authorization": f"Bearer {token}"})
        t = time.perf_counter()
        assert json.loads(urllib.request.urlopen(req).read())["sub"]
        info.append(time.perf_counter() - t)
    print(f"full_code_pkce_flow n={N} {ms(full)}")
    print(f"silent_sso_authorize n={N} {ms(silent)}")
    print(f"userinfo_opaque n={N} {ms(info)}")
    print(f"peak_rss_mib={int(open(f'/proc/{server.pid}/status').read().split('VmHWM:')[1].split()[0])/1024:.1f}")
    server.terminate(); server.wait()
finally:
    shutil.rmtree(data, ignore_errors=True)
