"""Benchmark the read paths at scale: `.venv/bin/python bench/run.py [--claims 100000]`.

Uses its own database (factcheck_bench on the embedded server, or BENCH_DATABASE_URL), fills it with
`manage.py generate_claims` up to --claims public claims, then times requests through the whole Django
stack (Django's WSGI handler called in process, as gunicorn calls it: the figures are the app's and the
database's cost, without a network) and prints, for each path, the p50 / p95 / max in milliseconds, the number
of SQL queries (counted on a request of its own, not timed), and the peak memory
of the process. Then it streams each export of every published claim (/api/v1/exports/...) to the end,
--export-repeat times, and prints the time, the rows a second, the size, the queries and the process's peak
resident memory after it (constant memory: it should not move from one export to the next, nor with
--claims). A path marked "(304)" is asked again with the ETag of its 200 (If-None-Match): the cost of a
client or a CDN revalidating an unchanged response (factcheck.caching). Not part of the test run. DEBUG is on
unless the environment sets it: run it with the production settings' environment (DEBUG=false, a SECRET_KEY,
ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT=false) for production's figures.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_database_url() -> str:
    """BENCH_DATABASE_URL, or the factcheck_bench database on the embedded server (created if missing)."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    from factcheck.embedded_db import database_url

    return database_url(ROOT / ".data", "factcheck_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--export-repeat", type=int, default=3, help="Whole exports per format (0: none).")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factcheck.settings")
    # Every request here is one client (127.0.0.1): the anonymous throttle would answer
    # most of them 429 after the first minute's allowance. What is measured is the views' cost.
    os.environ.setdefault("API_ANON_THROTTLE_RATE", "1000000/second")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from claims.models import Claim

    logging.getLogger("django.request").setLevel(logging.ERROR)  # a 4xx would be printed per request
    call_command("migrate", verbosity=0)
    call_command("loaddata", "statuses", verbosity=0)
    have = Claim.objects.count()
    if have < args.claims:
        started = time.perf_counter()
        call_command("generate_claims", args.claims - have)
        print(f"generated {args.claims - have} claims in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:  # fresh statistics, as autovacuum would give in time
            cursor.execute("VACUUM ANALYZE")
    total = Claim.objects.count()

    client = WsgiClient()
    latest_first = Claim.objects.published().order_by("-status_changed_at", "-id")
    middle_cursor = _cursor_for(latest_first[total // 2])
    sample = latest_first.first()
    paths = [
        "/api/v1/claims/",
        "/api/v1/claims/?page_size=100",
        f"/api/v1/claims/?cursor={middle_cursor}",
        "/api/v1/claims/?q=ceasefire+memorandum",
        # One word that nearly every claim matches: a page ranks a window of the latest matches, not them all.
        "/api/v1/claims/?q=change",
        "/api/v1/claims/?status=false&speaker=bench-speaker-7",
        f"/api/v1/claims/{sample.pk}/",
        "/api/v1/changes/?after=1000",
        "/claims/",
        "/claims/?q=prisoner+exchange",
        "/claims/?q=change",
        f"/claims/{sample.slug}/",
        "/",
    ]
    # Revalidations: the same request with the ETag of its 200, answered 304 before the view.
    revalidated = ["/api/v1/claims/", f"/api/v1/claims/{sample.pk}/", "/claims/", f"/claims/{sample.slug}/"]
    print(f"{total} claims; {args.repeat} requests per path after one warm-up")
    print(f"{'path':58} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    runs = [(path, path, {}) for path in paths] + [
        # The tag is fetched as another client, so the throttle of the runs above cannot refuse it.
        (f"{path} (304)", path, {"HTTP_IF_NONE_MATCH": client.get(path, REMOTE_ADDR="192.0.2.1")["ETag"]})
        for path in revalidated
    ]
    for label, path, headers in runs:
        # The queries of one request are counted apart: capturing them (a debug cursor that writes out each
        # query's SQL) would be timed too. The log is emptied first, as each request's start empties it.
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            client.get(path, **headers)
        count = len(queries)  # read now: the next requests empty the log it reads
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(path, **headers)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(
            f"{label[:58]:58} {response.status_code:>6} {statistics.median(timings):8.1f} {p95:8.1f} "
            f"{timings[-1]:8.1f} {count:>8}"
        )
    print(f"peak resident memory of the benchmark process: {_peak_rss():.0f} MiB")
    if args.export_repeat > 0:
        _bench_exports(client, args.export_repeat)


class WsgiClient:
    """GET requests through Django's WSGI handler, as gunicorn calls it, with the body read to the end: the
    test Client would add its own work (it copies every rendered template's context for its assertions)."""

    def __init__(self) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def get(self, path: str, *, stream: bool = False, **headers: str) -> Any:
        """The response; its body read and the response closed, unless `stream` (then the caller does)."""
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **headers,
        }
        response = self.handler(environ, lambda status, headers, exc_info=None: None)
        if not stream:
            b"".join(response)  # the body, read to the end as a server sends it
            response.close()
        return response


def _peak_rss() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bench_exports(client, repeat: int) -> None:
    """Each export streamed to the end, its body counted and dropped a piece at a time (as a client saving
    it would): the median time, rows a second, size, queries, and the peak resident memory afterwards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from claims.models import Claim

    rows = Claim.objects.published().count()
    print(f"\nexports of {rows} published claims, {repeat} each")
    print(f"{'path':40} {'status':>6} {'p50 s':>8} {'rows/s':>9} {'MiB':>7} {'queries':>8} {'peak RSS':>9}")
    for path in (
        "/api/v1/exports/claims.csv",
        "/api/v1/exports/claims.jsonl",
        "/api/v1/exports/claimreview.json",
    ):
        timings = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path, stream=True)
                size = sum(len(piece) for piece in response.streaming_content)
                response.close()
                timings.append(time.perf_counter() - started)
        seconds = statistics.median(timings)
        print(
            f"{path:40} {response.status_code:>6} {seconds:8.2f} {rows / seconds:9,.0f} {size / 2**20:7.1f} "
            f"{len(queries):>8} {_peak_rss():>6.0f} MiB"
        )


def _cursor_for(claim) -> str:
    """The claim list's cursor for the page after `claim` (a signed position, as in the API's `next` links)."""
    from urllib.parse import quote

    from claims.pagination import CLAIMS, Cursor

    return quote(Cursor(CLAIMS.position_of(claim)).encode(CLAIMS))


if __name__ == "__main__":
    main()
