"""Builds groups of the sizes given from seeded users (PATCH add batches of 1,000), plus
1,000 small groups, and reports timings. Usage: groups_build.py BASE TOKEN SEED_DIR SIZE...

A group of SIZE members takes every (users // SIZE)-th seeded user, so every group draws its
members from across the whole directory, as a department's do, and group_member.lua (which
picks by the same rule) compares group sizes alone. Until the nineteenth round a group took the
first SIZE users: the 10,000-member group's were then the oldest tenth of the directory, whose
rows and index entries sit together in the writer's cache, and it ran at 8,995 changes a second
against 7,958 for 10,000 members spread out (BENCHMARKS.md)."""
import http.client, json, sys, time, urllib.parse

base, token, seed_dir, sizes = sys.argv[1], sys.argv[2], sys.argv[3], [int(s) for s in sys.argv[4:]]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
H = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
ids = [l.strip() for l in open(f"{seed_dir}/ids")]

def call(method, path, body=None):
    conn.request(method, u.path + path, json.dumps(body) if body is not None else None, H)
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")
    return data

for size in sizes:
    members = ids[::max(1, len(ids) // size)][:size]
    g = json.loads(call("POST", "/Groups", {"displayName": f"size-{size}"}))
    start = time.time()
    for i in range(0, size, 1000):
        batch = [{"value": x} for x in members[i:i + 1000]]
        call("PATCH", f"/Groups/{g['id']}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "add", "path": "members", "value": batch}]})
    took = time.time() - start
    print(f"built group of {size} members in {took:.1f} s ({size / took:,.0f} members/s)", file=sys.stderr)
    open(f"{seed_dir}/group_{size}", "w").write(g["id"] + "\n")
start = time.time()
for i in range(1000):
    call("POST", "/Groups", {"displayName": f"team-{i:04d}", "members": [{"value": ids[i]}]})
print(f"created 1,000 small groups in {time.time() - start:.1f} s", file=sys.stderr)
