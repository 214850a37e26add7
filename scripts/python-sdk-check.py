#!/usr/bin/env python3
# The vendor's Python SDK (pangea-sdk) as a client of the local audit service: logs (plain, signed,
# verbose with the SDK's own proof checks), bulk and async bulk logs, roots, a search with the SDK's
# consistency and event verification, a results page, a tenant restriction, downloads, an export
# job polled to its end, log_stream, and two refusals. It needs the SDK, which CI cannot install
# (PyPI is out of its reach), so it is run by hand; the README says with which SDK version.
#
#   npm run local-audit                      # AUDIT_TOKEN=... LOCAL_AUDIT_PORT=4001 by default
#   python3 scripts/python-sdk-check.py http://127.0.0.1:4001 <AUDIT_TOKEN>
#
# The SDK looks published roots up on arweave.net before it asks v1/root: a stand-in on 127.0.0.1
# answers that lookup with no transactions, so the check runs offline and every root comes from
# the service. Exits 1 when any check fails.
import asyncio
import datetime
import gzip
import json
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import pangea.services.audit.util as audit_util
from pangea.config import PangeaConfig
from pangea.exceptions import AcceptedRequestException
from pangea.services.audit.audit import Audit
from pangea.services.audit.models import Event, EventVerification, SearchOrder

if len(sys.argv) != 3:
    sys.exit("usage: python-sdk-check.py <service URL> <token>")
SERVICE_URL, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
# Every run logs under its own actor, so a service that already holds events does not disturb it.
ACTOR = f"py-check-{os.getpid()}-{int(time.time())}"
TENANT = f"{ACTOR}-tenant"

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


class NoArweaveTransactions(BaseHTTPRequestHandler):
    queries = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        NoArweaveTransactions.queries += 1
        body = json.dumps({"data": {"transactions": {"edges": []}}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


arweave = HTTPServer(("127.0.0.1", 0), NoArweaveTransactions)
threading.Thread(target=arweave.serve_forever, daemon=True).start()
audit_util.ARWEAVE_BASE_URL = f"http://127.0.0.1:{arweave.server_address[1]}"


def fetched_text(url):
    # Download files are gzip (the SDK's formats are compressed CSV and JSON).
    data = requests.get(url).content
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()


def config():
    # SDK 5 and later take a URL template; earlier ones a URL in `domain`.
    if "base_url_template" in getattr(PangeaConfig, "__dataclass_fields__", {}) or hasattr(PangeaConfig, "model_fields"):
        return PangeaConfig(base_url_template=SERVICE_URL, request_retries=1)
    return PangeaConfig(domain=SERVICE_URL, request_retries=1)


key_file = os.path.join(tempfile.mkdtemp(), "signing-key.pem")
with open(key_file, "wb") as f:
    f.write(Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
audit = Audit(TOKEN, config=config(), private_key_file=key_file, logger_name="python-sdk-check")

r = audit.log(message="python sdk hello", actor=ACTOR, action="create", status="success", verbose=True, verify=True)
check(r.success, f"log, verbose, verified by the SDK: {r.status}")
check(r.result.membership_verification == EventVerification.PASS, f"log: membership {r.result.membership_verification}")

r = audit.log(message="python sdk signed", actor=ACTOR, action="sign", sign_local=True, verbose=True, verify=True,
              timestamp=datetime.datetime(2026, 12, 6, 13, 0, 0, tzinfo=datetime.timezone.utc))
check(r.success, f"signed log: {r.status}")
check(r.result.signature_verification == EventVerification.PASS, f"signed log: signature {r.result.signature_verification}")
check(r.result.membership_verification == EventVerification.PASS, f"signed log: membership {r.result.membership_verification}")

bulk = [Event(message=f"python bulk {i}", actor=ACTOR, action="bulk", tenant_id=TENANT) for i in range(25)]
r = audit.log_bulk(bulk, verbose=True, sign_local=True)
check(r.success and len(r.result.results) == 25, f"log_bulk of 25: {r.status}, {len(r.result.results) if r.result else 0} results")
check(all(x.signature_verification == EventVerification.PASS for x in r.result.results), "log_bulk: every signature verified by the SDK")

r = audit.log_bulk_async([Event(message=f"python async {i}", actor=ACTOR, action="async") for i in range(5)])
check(r.http_status == 202, f"log_bulk_async: HTTP {r.http_status}")

# Searches prove events against published roots: wait for the publisher (every second by default).
deadline = time.time() + 30
while True:
    r = audit.search(query=f"actor:{ACTOR}", limit=50, verify_consistency=True, verify_events=True, order=SearchOrder.ASC)
    if (r.success and r.result.count == 32 and all(e.published for e in r.result.events)) or time.time() > deadline:
        break
    time.sleep(0.5)
events = r.result.events
check(r.success and r.result.count == 32 and len(events) == 32, f"search with verify_consistency: {r.status}, {len(events)} of {r.result.count} events")
check(all(e.published for e in events), f"published: {sum(e.published for e in events)} of {len(events)}")
check(all(e.membership_verification == EventVerification.PASS for e in events), "every event: membership PASS")
not_pass = [(e.leaf_index, str(e.consistency_verification)) for e in events if e.consistency_verification != EventVerification.PASS and e.leaf_index != 0]
check(not not_pass, f"consistency PASS for every event after the log's first: {not_pass or 'all'}")
signed = [e for e in events if e.envelope.signature]
check(len(signed) == 26 and all(e.signature_verification == EventVerification.PASS for e in signed), f"signed events verified: {len(signed)} of 26")

r = audit.root()
check(r.success and r.result.data.size >= 32, f"root (latest): size {r.result.data.size}")
r = audit.root(tree_size=3)
check(r.success and r.result.data.size == 3 and bool(r.result.data.consistency_proof), "root of size 3 with its consistency proof")

result_id = audit.search(query=f"actor:{ACTOR}", limit=5, order=SearchOrder.ASC).result.id
r = audit.results(id=result_id, limit=10, offset=5, verify_consistency=True, verify_events=True)
check(r.success and len(r.result.events) == 10, f"results page: {len(r.result.events) if r.result else 0} events")
check(all(e.membership_verification == EventVerification.PASS for e in r.result.events), "results page: membership PASS")

r = audit.search(query='message:"python bulk"', limit=50, search_restriction={"tenant_id": [TENANT]})
tenants = {e.envelope.event.get("tenant_id") if isinstance(e.envelope.event, dict) else e.envelope.event.tenant_id for e in r.result.events}
check(r.success and len(r.result.events) == 25 and tenants == {TENANT}, f"search_restriction on the tenant: {len(r.result.events)} events, tenants {tenants}")

r = audit.download_results(result_id=result_id, format="csv")
check(r.success and bool(r.result.dest_url), "download_results (csv) link")
csv = fetched_text(r.result.dest_url)
check(csv.count(ACTOR) >= 32, f"the csv holds the search's events: {csv.count(ACTOR)} mentions of the actor")

ex = audit.export(start=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc), verbose=True)
check(ex.http_status == 202, f"export: HTTP {ex.http_status}")
done = None
for _ in range(60):
    try:
        done = audit.poll_result(request_id=ex.request_id)
        break
    except AcceptedRequestException:
        time.sleep(0.5)
check(done is not None and done.success, f"export job polled to its end: {done.status if done else 'still running'}")
r = audit.download_results(request_id=ex.request_id, format="json")
exported = fetched_text(r.result.dest_url)
check(exported.count(ACTOR) >= 32, f"the export holds the events: {exported.count(ACTOR)} mentions of the actor")

r = audit.log_stream({"logs": [{"log_id": f"{ACTOR}-stream", "data": {"date": "2024-03-29T17:26:50.193Z", "type": "sapi", "description": "python sdk stream",
                                                                  "client_id": "c1", "ip": "127.0.0.1", "user_agent": "python-sdk-check", "user_id": "u1"}}]})
check(r.success, f"log_stream: {r.status}")

try:
    audit.log(message="x" * 40000)
    check(False, "a 40,000-character message was accepted")
except Exception as e:
    check("Validation" in type(e).__name__, f"a 40,000-character message is refused: {type(e).__name__}")
try:
    Audit("not-the-token", config=config(), logger_name="python-sdk-check-2").log(message="nope")
    check(False, "a wrong token was accepted")
except Exception as e:
    check("Unauthorized" in type(e).__name__, f"a wrong token is refused: {type(e).__name__}")

# The asyncio client (aiohttp) posts its JSON as text/plain; the same service answers it.
async def asyncio_client():
    from pangea.asyncio.services.audit import AuditAsync

    client = AuditAsync(TOKEN, config=config(), logger_name="python-sdk-check-async")
    try:
        r = await client.log(message="python sdk async", actor=f"{ACTOR}-async", verbose=True, verify=True)
        check(r.success and r.result.membership_verification == EventVerification.PASS, f"asyncio log, verified: {r.status}, membership {r.result.membership_verification}")
        r = await client.log_bulk([Event(message=f"python asyncio bulk {i}", actor=f"{ACTOR}-async") for i in range(3)], verbose=True)
        check(r.success and len(r.result.results) == 3, f"asyncio log_bulk of 3: {r.status}")
        deadline = time.time() + 30
        while True:
            r = await client.search(query=f"actor:{ACTOR}-async", verify_consistency=True, verify_events=True)
            if (r.success and r.result.count == 4 and all(e.published for e in r.result.events)) or time.time() > deadline:
                break
            await asyncio.sleep(0.5)
        verdicts = {(str(e.membership_verification), str(e.consistency_verification)) for e in r.result.events}
        check(r.result.count == 4 and verdicts == {("pass", "pass")}, f"asyncio search with verify_consistency: {r.result.count} events, verdicts {verdicts}")
    finally:
        await client.close()


asyncio.run(asyncio_client())

print(f"arweave stand-in queried {NoArweaveTransactions.queries} times; {len(failures)} failures")
sys.exit(1 if failures else 0)
