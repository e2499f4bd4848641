"""Seeds N Okta-like users into a running scimd and writes their ids and userNames to files."""
import http.client, json, sys, urllib.parse

base, token, n, ids_path, names_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
u = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(u.hostname, u.port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
with open(ids_path, "w") as ids, open(names_path, "w") as names:
    for i in range(n):
        name = f"user{i:06d}@bench.example.com"
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": name, "externalId": f"00u{i:017d}",
            "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
            "displayName": f"Given{i} Family{i}",
            "emails": [{"primary": True, "value": name, "type": "work"}],
            "active": True,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": f"Dept{i % 50}", "employeeNumber": str(i)},
        }
        conn.request("POST", u.path + "/Users", json.dumps(body), headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 201:
            sys.exit(f"seeding failed at {i}: {r.status} {data[:200]!r}")
        ids.write(json.loads(data)["id"] + "\n")
        names.write(urllib.parse.quote(name.upper()) + "\n")
