"""Okta "Import Now": reads every user page by page (count=100, or COUNT: Ping asks for 1,000)
over one connection and prints `import_all users=N pages=P seconds=S`.
Usage: import_all.py BASE TOKEN [COUNT]"""
import gzip, http.client, json, os, sys, time, urllib.parse

base, token = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 100
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
# As Okta asks; ACCEPT_ENCODING overrides it, and empty sends none (as bench/common.lua).
accept_encoding = os.environ.get("ACCEPT_ENCODING", "gzip,deflate")
if accept_encoding:
    headers["Accept-Encoding"] = accept_encoding
start, index, seen, pages = time.time(), 1, 0, 0
while True:
    conn.request("GET", f"{u.path}/Users?startIndex={index}&count={count}", headers=headers)
    r = conn.getresponse()
    body = r.read()
    if r.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    page = json.loads(body)
    if r.status != 200:
        sys.exit(f"page at {index}: {r.status} {page}")
    n = len(page["Resources"])
    seen, pages, index = seen + n, pages + 1, index + n
    if n == 0 or index > page["totalResults"]:
        break
print(f"import_all users={seen} pages={pages} seconds={time.time() - start:.3f}")
