"""Runs the independent scim2-tester conformance checker against a live scimd.

Usage: check.py BASE_URL TOKEN. Prints every check and exits non-zero if any check ends in
ERROR or CRITICAL (a MUST of RFC 7643/7644 broken).
"""
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
client = SyncSCIMClient(Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30))
results = check_server(client)
failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
for r in results:
    scope = f"[{r.resource_type}] " if r.resource_type else ""
    print(f"{r.status.name:<10} {scope}{r.title}" + (f": {r.reason}" if r.reason and r.status != Status.SUCCESS else ""))
passed = len(results) - len(failed)
print(f"conformance: {passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
