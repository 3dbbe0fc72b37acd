#!/usr/bin/env python3
"""Start-up time and memory of a release `tessera` on an existing data folder.

Prints, for 5 starts: milliseconds from process start to the first 200 on discovery, and RSS
after start; then peak RSS after 2,000 client-credentials token requests. Not a throughput
benchmark (the Python client is the bottleneck); bench/run will be.

    cargo build --release -p tessera && python3 bench/startup_rss.py
"""
import json, os, shutil, subprocess, sys, tempfile, time, urllib.parse, urllib.request
import concurrent.futures as cf

BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "target", "release", "tessera")
PORT = 3111
data = tempfile.mkdtemp(prefix="tessera-bench-")
env = dict(os.environ, TESSERA_DATA_DIR=data, TESSERA_LOG="warn")

def cli(*args):
    out = subprocess.run([BIN, *args, "--json"], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)

def rss_kib(pid, field="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0

def start():
    t = time.monotonic()
    p = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}"], env=env, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/.well-known/openid-configuration", timeout=1)
            return p, (time.monotonic() - t) * 1000
        except Exception:
            if p.poll() is not None:
                sys.exit("the server exited during start-up")
            time.sleep(0.001)

# The CLI works on an existing installation: make it first.

subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)

cli("apis", "create", "--name", "A", "--identifier", "urn:api", "--scopes", "read:x")
app = cli("apps", "create", "--name", "svc", "--type", "m2m")
cli("apps", "grant", app["client_id"], "--audience", "urn:api", "--scopes", "read:x")

for _ in range(5):
    p, ms = start()
    time.sleep(0.5)
    print(f"startup_to_first_200_ms={ms:.1f} idle_rss_mib={rss_kib(p.pid) / 1024:.1f}")
    p.terminate(); p.wait()

p, _ = start()
body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": app["client_id"],
                               "client_secret": app["client_secret"], "audience": "urn:api"}).encode()
def one(_):
    return urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PORT}/oauth/token", data=body)).status
with cf.ThreadPoolExecutor(8) as ex:
    codes = list(ex.map(one, range(2000)))
print(f"tokens={len(codes)} all_200={all(c == 200 for c in codes)} peak_rss_mib={rss_kib(p.pid, 'VmHWM') / 1024:.1f}")
p.terminate(); p.wait()
shutil.rmtree(data, ignore_errors=True)
