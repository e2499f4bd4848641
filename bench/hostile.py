"""The requests of bench/hostile, against a running scimd: BASE TOKEN PID PHASE, where PHASE
is `bodies` (PATCHes and POSTs), `page-seed` (1,000 of the largest users), `page` (a page of
them in a scimd that has done nothing else) or `filters` (searches over the users seeded
before it)."""
import json
import os
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BASE, TOKEN, PID, PHASE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
TICK = os.sysconf("SC_CLK_TCK")
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIMIT = 1024 * 1024


def cpu():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mib():
    with open(f"/proc/{PID}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024


def send(method, path, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode())
    assert data is None or len(data) <= LIMIT, f"{path}: {len(data)} bytes"
    r = urllib.request.Request(BASE + path, data=data, method=method,
                               headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/scim+json"})
    try:
        with urllib.request.urlopen(r, timeout=300) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def patch(ops):
    return {"schemas": [PATCH_OP], "Operations": ops}


def fill(make, budget=LIMIT - 200):
    """As many of make(i) as fit in `budget` bytes of JSON."""
    out, size, i = [], 0, 0
    while True:
        item = make(i)
        size += len(json.dumps(item, separators=(",", ":"))) + 1
        if size > budget:
            return out
        out.append(item)
        i += 1


serial = [0]


def user(**attrs):
    serial[0] += 1
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"h{serial[0]}@x.io", **attrs}


def new_user(**attrs):
    status, body = send("POST", "/Users", user(**attrs))
    assert status == 201, body[:300]
    return json.loads(body)["id"]


def new_group():
    serial[0] += 1
    status, body = send("POST", "/Groups", {"displayName": f"g{serial[0]}"})
    assert status == 201, body[:300]
    return json.loads(body)["id"]


def largest_user(make_element):
    """A user with as many make_element(i) as scimd stores (64 KiB of JSON)."""
    n = 6000
    while n > 0:  # the first size scimd takes, going down by 100
        status, body = send("POST", "/Users", user(phoneNumbers=[make_element(i) for i in range(n)]))
        if status == 201:
            return json.loads(body)["id"], n
        n -= 100
    raise SystemExit("no user could be stored")


def cases():
    emails = lambda n: [{"value": f"e{i}@x.io"} for i in range(n)]
    yield "PATCH: one add of every email that fits", lambda: (
        "PATCH", f"/Users/{new_user()}", patch([{"op": "add", "path": "emails", "value": fill(lambda i: {"value": f"e{i}@x.io"})}]))
    yield "PATCH: an add per email, as many as fit", lambda: (
        "PATCH", f"/Users/{new_user()}", patch(fill(lambda i: {"op": "add", "path": "emails", "value": [{"value": f"e{i}@x.io"}]})))
    small = lambda i: {"value": f"{i}"}
    big, n = largest_user(small)
    yield f"PATCH: remove by a value array of every value that fits, from a user of {n} values", lambda: (
        "PATCH", f"/Users/{big}", patch([{"op": "remove", "path": "phoneNumbers", "value": fill(small)}]))
    big, n = largest_user(small)
    yield f"PATCH: filtered replaces, as many as fit, on a user of {n} values", lambda: (
        "PATCH", f"/Users/{big}", patch(fill(lambda i: {"op": "replace", "path": f'phoneNumbers[value eq "{i % n}"].display', "value": "d"})))
    yield f"PATCH: remove a filter that matches all {n} values", lambda: (
        "PATCH", f"/Users/{big}", patch([{"op": "remove", "path": 'phoneNumbers[value pr]'}]))
    yield "POST: a user of every email that fits", lambda: ("POST", "/Users", user(emails=fill(lambda i: {"value": f"e{i}@x.io"})))
    yield "PATCH: a path of 900 kB (its error quotes it)", lambda: (
        "PATCH", f"/Users/{new_user()}", patch([{"op": "remove", "path": "emails[" + "value eq \"x\" or " * 45_000}]))
    yield "POST: a group of every unknown member that fits", lambda: (
        "POST", "/Groups", {"displayName": "big", "members": fill(lambda i: {"value": f"{i:032x}"})})
    yield "PATCH: remove every absent member that fits from a group", lambda: (
        "PATCH", f"/Groups/{new_group()}", patch([{"op": "remove", "path": "members", "value": fill(lambda i: {"value": f"{i:032x}"})}]))
    member = new_user()
    yield "PATCH: a group, an add or remove of one member per operation, as many as fit", lambda: (
        "PATCH", f"/Groups/{new_group()}", patch(fill(lambda i: {"op": "add", "path": "members", "value": [{"value": member}]}
                                                      if i % 2 == 0 else {"op": "remove", "path": f'members[value eq "{member}"]'})))
    yield "PATCH: JSON nested 80,000 deep", lambda: (
        "PATCH", f"/Users/{new_user()}", b'{"Operations":[{"op":"add","value":' + b'{"a":' * 80_000 + b"1" + b"}" * 80_000 + b"}]}")


def row(name, method, path, body):
    c0, t0 = cpu(), time.perf_counter()
    status, answer = send(method, path, body)
    t1, c1 = time.perf_counter(), cpu()
    detail = ""
    if status >= 400:
        detail = json.loads(answer).get("detail", "")[:60]
    print(f"| {name} | {status} {detail} | {(t1 - t0) * 1000:,.0f} | {(c1 - c0) * 1000:,.0f} | {len(answer):,} |", flush=True)


def joined(n, term):
    return " or ".join(term(i) for i in range(n))


def searches():
    yield "one `title co`", 'title co "zz"'
    yield "32 `title co` joined by or", joined(32, lambda i: f'title co "z{i}"')
    yield "33 `title co` joined by or", joined(33, lambda i: f'title co "z{i}"')
    yield "868 `title co` joined by or (16 KB)", joined(868, lambda i: f'title co "z{i}"')
    yield "500 `userName eq` joined by or", joined(500, lambda i: f'userName eq "x{i}"')
    yield "1,029 `id eq` joined by or", joined(1029, lambda i: f'id eq "x{i}"')
    yield "240 `userName eq … or externalId eq …`", joined(240, lambda i: f'userName eq "x{i}" or externalId eq "y{i}"')


def search(flt):
    return "POST", "/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": flt, "count": 10}


print("| request | status | ms | scimd CPU ms | answer bytes |")
print("|---|---|---:|---:|---:|")
if PHASE == "filters":
    for name, flt in searches():
        row(f"search: {name}", *search(flt))
    method, path, body = search("userName pr")
    body.update(count=1000, attributes=["name.givenName"] * 30_000)
    row("search: a page of 1,000 with `attributes` naming one path 30,000 times", method, path, body)
    sys.exit(0)
if PHASE == "page-seed":
    # 1,000 of the largest users scimd stores, for the page below (in a process of its own).
    fat = lambda i: {"value": f"{i:06d}-{'p' * 24}"}
    _, n = largest_user(fat)
    for _ in range(999):
        status, body = send("POST", "/Users", user(phoneNumbers=[fat(i) for i in range(n)]))
        assert status == 201, body[:300]
    print(f"1,000 users of {n} values each")
    sys.exit(0)
if PHASE == "page":
    # The page as Ping asks for pages (count=1000), in a scimd that has done nothing else:
    # its peak RSS is the page's. Then four such pages at once.
    before = peak_rss_mib()
    path = "/Users?startIndex=1&count=1000"
    r = urllib.request.Request(BASE + path, headers={"Authorization": "Bearer " + TOKEN})
    c0, t0 = cpu(), time.perf_counter()
    with urllib.request.urlopen(r, timeout=300) as resp:
        first = resp.read(1)
        t_first = time.perf_counter()
        size = len(first) + len(resp.read())
    t1, c1 = time.perf_counter(), cpu()
    print(f"| GET: a page of 1,000 of the largest users | {resp.status} | {(t1 - t0) * 1000:,.0f} "
          f"(first byte {(t_first - t0) * 1000:,.0f}) | {(c1 - c0) * 1000:,.0f} | {size:,} |")
    one = peak_rss_mib()
    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda _: len(send("GET", path)[1]), range(4)))
    print(f"\npeak RSS {before:,.0f} MiB before the page, {one:,.0f} MiB after it, "
          f"{peak_rss_mib():,.0f} MiB after four at once ({min(sizes):,} bytes each)")
    sys.exit(0)
for name, make in cases():
    row(name, *make())
