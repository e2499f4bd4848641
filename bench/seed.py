"""Seeds N Okta-like users into a running scimd over 8 connections and writes their ids,
upper-cased userNames, externalIds, work emails and a late lastModified to files in OUT_DIR."""
import http.client, json, sys, threading, urllib.parse

base, token, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urllib.parse.urlparse(base)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
results = [None] * n
failed = []

def work(start, step):
    conn = http.client.HTTPConnection(u.hostname, u.port)
    for i in range(start, n, step):
        name = f"user{i:06d}@bench.example.com"
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "userName": name, "externalId": f"00u{i:017d}",
            "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
            "displayName": f"Given{i} Family{i}",
            "emails": [{"primary": True, "value": name, "type": "work"},
                       {"value": f"home{i}@mail.example.org", "type": "home"}],
            "active": True,
            ENT: {"department": f"Dept{i % 50}", "employeeNumber": str(i), "manager": {"value": "boss"}},
        }
        conn.request("POST", u.path + "/Users", json.dumps(body), headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 201:
            failed.append(f"{i}: {r.status} {data[:200]!r}")
            return
        doc = json.loads(data)
        results[i] = (doc["id"], name, doc["externalId"], doc["meta"]["lastModified"])

threads = [threading.Thread(target=work, args=(k, 8)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if failed:
    sys.exit("seeding failed: " + failed[0])
q = urllib.parse.quote
with open(f"{out}/ids", "w") as f: f.writelines(r[0] + "\n" for r in results)
with open(f"{out}/names", "w") as f: f.writelines(q(r[1].upper()) + "\n" for r in results)
with open(f"{out}/external_ids", "w") as f: f.writelines(q(r[2]) + "\n" for r in results)
with open(f"{out}/emails", "w") as f: f.writelines(q(r[1]) + "\n" for r in results)
late = sorted(r[3] for r in results)[-10]
with open(f"{out}/late_modified", "w") as f: f.write(q(late) + "\n")
