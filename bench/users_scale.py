#!/usr/bin/env python3
"""The Management API's user listing with a million users, on SQLite and on PostgreSQL.

Lays down N users (default 1,000,000) straight into an empty installation's database (SQL,
not the API: the API path is what is timed, not the loading), starts the server and times,
sequentially, R requests of each (default 200):

  - a search by exact email:          GET /api/v2/users?q=email:"userNNN@bench.example"
  - a deep offset page:               GET /api/v2/users?page=500&per_page=50
  - a page with the total counted:    GET /api/v2/users?per_page=50&include_totals=true

and prints p50/p99 in ms per kind, the answers' `total`, and the server's RSS while listing
(after the first and after the last request: "memory flat" means they differ by little).
Target: every p99 under 20 ms on this machine, memory flat.

    cargo build --release -p tessera
    python3 bench/users_scale.py                                   # SQLite
    psql -h 127.0.0.1 -U postgres -d test -c 'DROP DATABASE IF EXISTS tessera_users' \
         -c 'CREATE DATABASE tessera_users'
    python3 bench/users_scale.py --database-url postgres://postgres@127.0.0.1:5432/tessera_users
"""
import argparse, json, os, sqlite3, subprocess, sys, tempfile, time, urllib.parse, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "tessera"))
ap.add_argument("--database-url")
ap.add_argument("--users", type=int, default=1_000_000)
ap.add_argument("--requests", type=int, default=200)
ap.add_argument("--port", type=int, default=3177)
args = ap.parse_args()

data = tempfile.mkdtemp(prefix="tessera-users-")
env = dict(os.environ, TESSERA_DATA_DIR=data, TESSERA_LOG="warn")
if args.database_url:
    env["TESSERA_DATABASE_URL"] = args.database_url
base = f"http://127.0.0.1:{args.port}"
env["TESSERA_ISSUER"] = base + "/"


def cli(*a):
    out = subprocess.run([args.bin, *a, "--json"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if out.stdout.strip() else None


def user_rows(n):
    for i in range(n):
        uid = f"auth0|{i:024x}"
        email = f"user{i}@bench.example"
        doc = json.dumps({
            "tenant_id": "default", "user_id": uid, "email": email, "email_verified": False,
            "name": f"User {i}", "app_metadata": {"plan": "pro" if i % 3 else "free"},
            "user_metadata": {}, "password_hash": "x", "blocked": False, "logins_count": 0,
            "version": 0, "created_at": 1_700_000_000 + i, "updated_at": 1_700_000_000 + i,
        }, separators=(",", ":"))
        yield ("default", uid, email, doc)


def load_sqlite(n):
    db = sqlite3.connect(os.path.join(data, "tessera.db"))
    db.execute("PRAGMA journal_mode=WAL")
    with db:
        db.executemany("INSERT INTO users (tenant_id, user_id, email, data) VALUES (?, ?, ?, ?)", user_rows(n))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def load_postgres(n):
    p = subprocess.Popen(["psql", args.database_url, "-q", "-c",
                          "COPY users (tenant_id, user_id, email, data) FROM STDIN"],
                         stdin=subprocess.PIPE, text=True)
    for row in user_rows(n):
        p.stdin.write("\t".join(v.replace("\\", "\\\\") for v in row) + "\n")
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("COPY failed")
    subprocess.run(["psql", args.database_url, "-q", "-c", "ANALYZE users"], check=True)


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


subprocess.run([args.bin, "migrate"], env=env, check=True, capture_output=True)
cli("tenant", "show")
t = time.monotonic()
(load_postgres if args.database_url else load_sqlite)(args.users)
print(f"loaded {args.users} users in {time.monotonic() - t:.0f} s")
audience = base + "/api/v2/"
app = cli("apps", "create", "--name", "bench", "--type", "m2m")
cli("apps", "grant", app["client_id"], "--audience", audience, "--scopes", "read:users")
cli("tenant", "update", "--management-rate-limit", "0")

server = subprocess.Popen([args.bin, "serve", "--listen", f"127.0.0.1:{args.port}"], env=env,
                          stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/.well-known/openid-configuration", timeout=1)
            break
        except Exception:
            time.sleep(0.05)
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": app["client_id"],
                                   "client_secret": app["client_secret"], "audience": audience}).encode()
    token = json.loads(urllib.request.urlopen(base + "/oauth/token", data=form).read())["access_token"]

    def get(path):
        req = urllib.request.Request(base + "/api/v2" + path, headers={"Authorization": f"Bearer {token}"})
        t0 = time.perf_counter()
        body = urllib.request.urlopen(req).read()
        return (time.perf_counter() - t0) * 1000, json.loads(body)

    kinds = {
        "search by exact email": lambda i: "/users?q=" + urllib.parse.quote(f'email:"user{(i * 7919) % args.users}@bench.example"'),
        "page=500&per_page=50": lambda i: "/users?page=500&per_page=50",
        "include_totals": lambda i: "/users?per_page=50&include_totals=true",
    }
    rss_first = None
    for name, path in kinds.items():
        times, last = [], None
        for i in range(args.requests):
            ms, last = get(path(i))
            times.append(ms)
            if rss_first is None:
                rss_first = rss_mib(server.pid)
        times.sort()
        p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99) - 1]
        extra = f" total={last['total']}" if isinstance(last, dict) and "total" in last else f" answers={len(last)}"
        print(f"{name:24} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms {'ok  ' if p99 < 20 else 'MISS'}{extra}")
    print(f"server RSS while listing: {rss_first:.1f} MiB after the first request, {rss_mib(server.pid):.1f} MiB after the last")
finally:
    server.terminate()
    server.wait()
