"""Follow a factcheck site's public events: poll the events feed with a cursor and an ETag, and receive its
webhooks, verifying their Standard Webhooks signatures. It prints each event as each way brings it: the feed
brings every event once, in order; webhooks at least once (a retried delivery is recognised by its
webhook-id). Both carry the event's id: a program acting on both would act once per id.

    pip install requests standardwebhooks
    python examples/follow_claims.py --site http://127.0.0.1:8000 \
        --listen 127.0.0.1:9000 --secret whsec_...   # the endpoint's secret, shown once in the admin

Without --listen it only polls. The cursor and the ETag are kept in --state (a small JSON file) after each
page, so a restart goes on where it stopped (a crash between handling a page and saving it brings that page
again: handle events by id where that matters). Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from standardwebhooks import Webhook, WebhookVerificationError

deliveries_seen: set[str] = set()  # webhook-id of each delivery handled: a retried delivery is handled once
lock = threading.Lock()


def handle(event_id: int, event_type: str, data: dict, via: str) -> None:
    """Act on an event: here, print it. The feed gives each event once; a webhook may come again."""
    claim, status = data["claim"], data["status"] or {}
    speaker = claim["speaker"]["name"]
    print(
        f"[{via}] event {event_id} {event_type}: {speaker}: {claim['text']} -> {status.get('label')}",
        flush=True,
    )


def poll(site: str, state_file: Path, interval: float) -> None:
    """Ask the events feed for what came after the cursor; a 304 means nothing new (no body sent)."""
    state = json.loads(state_file.read_text()) if state_file.exists() else {"after": 0, "etag": None}
    session = requests.Session()
    while True:
        headers = {"If-None-Match": state["etag"]} if state["etag"] else {}
        response = session.get(
            f"{site}/api/v1/events/", params={"after": state["after"]}, headers=headers, timeout=30
        )
        if response.status_code == 429:
            time.sleep(int(response.headers.get("Retry-After", "60")))
            continue
        if response.status_code != 304:
            response.raise_for_status()
            page = response.json()
            for event in page["results"]:
                handle(event["id"], event["type"], event["data"], via="feed")
            state = {"after": page["last_id"], "etag": response.headers.get("ETag")}
            state_file.write_text(json.dumps(state))
            if page["next"]:
                continue  # more waiting: no pause
        time.sleep(interval)


def receiver(secret: str) -> type[BaseHTTPRequestHandler]:
    webhook = Webhook(secret)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                message = webhook.verify(body, headers)  # signature and a timestamp within 5 minutes
            except WebhookVerificationError:
                self.send_response(400)
                self.end_headers()
                return
            # webhook-id is stable across a delivery's retries: a retry of one already handled is acknowledged.
            with lock:
                first = headers["webhook-id"] not in deliveries_seen
                deliveries_seen.add(headers["webhook-id"])
            if first:
                handle(message["id"], message["type"], message["data"], via="webhook")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet: the events are printed instead of each request."""

    return Receiver


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--site", default="http://127.0.0.1:8000")
    parser.add_argument("--state", type=Path, default=Path("follow-state.json"))
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between polls when caught up")
    parser.add_argument("--listen", help="host:port to receive webhooks on")
    parser.add_argument("--secret", help="the webhook endpoint's secret (whsec_...)")
    args = parser.parse_args()
    if args.listen:
        host, port = args.listen.rsplit(":", 1)
        server = ThreadingHTTPServer((host, int(port)), receiver(args.secret))
        threading.Thread(target=server.serve_forever, daemon=True).start()
    poll(args.site.rstrip("/"), args.state, args.interval)


if __name__ == "__main__":
    main()
