"""`make bench`: the read paths over HTTP, as production serves them, beside the floor, as ratios.

  .venv/bin/python bench/load.py [--claims 1000000] [--rounds 3] [--seconds 15]

1. The bench database (bench/run.py's: factcheck_bench on the embedded server, or BENCH_DATABASE_URL), filled
   with `manage.py generate_claims` up to --claims public claims if it holds fewer (then VACUUM ANALYZE).
2. collectstatic, then the app with the production settings (DEBUG off, a fresh SECRET_KEY, ALLOWED_HOSTS
   127.0.0.1, no HTTPS redirect) under gunicorn with 2 sync workers, and the floor (bench/floor.py) the same
   way, on the same database.
3. The SQL queries each path makes (in this process, through Django's test client: the same settings).
4. --mixed requests (10,000) through the app, cycling over every path, then each app worker's resident memory.
5. The round-robin (bench/roundrobin.py): each path of the app and the floor's same request in turn with
   `wrk -t2 -c16`, a warm-up, then --rounds rounds of --seconds each; the medians and the ratios app/floor.
Everything it started is stopped at the end, on Ctrl-C and on failure too.

The anonymous API throttle (factcheck.abuse: one upsert a request, 60 a minute per client by default) would
refuse one client's load: API_ANON_THROTTLE_RATE is set high enough never to refuse (unless already set), so
its upsert stays in the figures as it is in production's.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import roundrobin  # noqa: E402
from bench.run import bench_database_url  # noqa: E402

SEARCH = "ceasefire memorandum"  # two words every generated claim's text is made of (generate_claims)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mixed", type=int, default=10_000, help="Requests of the mixed run (0: none).")
    parser.add_argument(
        "--paths",
        default="",
        help="Only these paths in the round-robin, comma-separated (list,deep,detail,search,claim page,"
        "/claims/,home,304), each with the floor it is measured against; all by default.",
    )
    parser.add_argument("--app-port", type=int, default=int(os.environ.get("BENCH_APP_PORT", 8081)))
    parser.add_argument("--floor-port", type=int, default=int(os.environ.get("BENCH_FLOOR_PORT", 8082)))
    args = parser.parse_args()
    roundrobin.require_wrk()
    # SIGTERM as Ctrl-C: the servers are stopped either way (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    database = bench_database_url()
    os.environ.update(
        DATABASE_URL=database,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DJANGO_SETTINGS_MODULE="factcheck.settings",
    )
    os.environ.setdefault("API_ANON_THROTTLE_RATE", "1000000/second")
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # no line per 404 or 429 in the output
    import django

    django.setup()
    total = _prepare_database(args.claims)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True)

    servers: list[subprocess.Popen] = []
    logs = Path(tempfile.mkdtemp(prefix="factcheck-bench-"))
    try:
        app = f"http://127.0.0.1:{args.app_port}"
        floor = f"http://127.0.0.1:{args.floor_port}"
        servers.append(_gunicorn("factcheck.wsgi:application", args.app_port, {}, logs / "app.log"))
        servers.append(
            _gunicorn(
                "bench.floor:application",
                args.floor_port,
                {"FLOOR_DATABASE_URL": database},
                logs / "floor.log",
            )
        )
        for base, log in ((app, "app.log"), (floor, "floor.log")):
            _wait_for(base, servers, logs / log)
        _measure(args, total, app, floor, servers[0])
    finally:
        for server in servers:
            _stop(server)
    print(f"(the servers' logs: {logs})")


def _prepare_database(wanted: int) -> int:
    """Migrate, and generate claims up to `wanted` if there are fewer; the published claims' count."""
    from django.core.management import call_command
    from django.db import connection

    from claims.models import Claim, Status

    call_command("migrate", verbosity=0)
    have = Claim.objects.count()
    if have < wanted:
        if not Status.objects.exists():
            call_command("loaddata", "statuses", verbosity=0)
        started = time.perf_counter()
        call_command("generate_claims", wanted - have)
        print(f"generated {wanted - have} claims in {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:  # fresh statistics, as autovacuum would give in time
            cursor.execute("VACUUM ANALYZE")
    return Claim.objects.published().count()


def _measure(
    args: argparse.Namespace, total: int, app: str, floor: str, app_server: subprocess.Popen
) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.floor import encode_cursor
    from bench.run import _cursor_for
    from claims.models import Claim

    latest_first = Claim.objects.published().order_by("-status_changed_at", "-id")
    middle = latest_first[total // 2]
    app_cursor = _cursor_for(middle)
    floor_cursor = quote(encode_cursor([middle.status_changed_at, middle.pk]))
    low, high = _id_range()
    bench_claims = Claim.objects.filter(slug__startswith="bench-claim-").count()
    search = SEARCH.replace(" ", "+")
    etag = _etag(app, "/api/v1/claims/?page_size=50")

    paths = {
        "list": "/api/v1/claims/?page_size=50",
        "deep": f"/api/v1/claims/?page_size=50&cursor={app_cursor}",
        "detail": f"/api/v1/claims/{{n}}/|{low}|{high}",
        "search": f"/api/v1/claims/?q={search}",
        "claim page": f"/claims/bench-claim-{{n}}/|1|{bench_claims}",
        "/claims/": "/claims/",
        "home": "/",
        "304": "/api/v1/claims/?page_size=50",
    }
    print(f"\n{total:,} published claims; the app on {app}, the floor on {floor}")

    # The SQL queries of each path, through the same settings in this process.
    client = Client(HTTP_HOST="127.0.0.1")
    queries = {}
    for name, path in paths.items():
        url = path.split("|")[0].replace("{n}", str(low) if name == "detail" else "1")
        headers = {"HTTP_IF_NONE_MATCH": etag} if name == "304" else {}
        client.get(url, **headers)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, **headers)
        queries[name] = (len(captured), response.status_code)
    connection.close()
    if queries["304"][1] != 304:
        raise SystemExit(f"The list asked with its ETag answered {queries['304'][1]}, not 304.")

    memory = {}
    if args.mixed:
        print(f"\n{args.mixed:,} mixed requests (every path in turn) through the app...", flush=True)
        requests = [(path, f"If-None-Match: {etag}" if name == "304" else "") for name, path in paths.items()]
        figures = roundrobin.mixed(app, requests, total=args.mixed, connections=args.connections)
        memory = _worker_memory(app_server.pid)
        print(
            f"  {figures['seconds']:.0f} s, {figures['rps']:.1f} req/s, {figures['non2xx']} not 2xx/3xx; resident memory of each app worker "
            "after them: " + ", ".join(f"{mib:.1f} MiB" for mib in memory.values())
        )

    tmp = Path(tempfile.mkdtemp(prefix="factcheck-wrk-"))
    detail = roundrobin.random_path_script(tmp, "detail", "/api/v1/claims/{n}/", low, high)
    page = roundrobin.random_path_script(tmp, "page", "/claims/bench-claim-{n}/", 1, bench_claims)
    variants = [
        roundrobin.Variant("list", app + paths["list"]),
        roundrobin.Variant("list.floor", floor + paths["list"]),
        roundrobin.Variant("deep", app + paths["deep"]),
        roundrobin.Variant("deep.floor", floor + f"/api/v1/claims/?page_size=50&cursor={floor_cursor}"),
        roundrobin.Variant("detail", app, detail),
        roundrobin.Variant("detail.floor", floor, detail),
        roundrobin.Variant("search", app + paths["search"]),
        roundrobin.Variant("search.floor", floor + paths["search"]),
        roundrobin.Variant("claim page", app, page),
        roundrobin.Variant("/claims/", app + "/claims/"),
        roundrobin.Variant("304", app + paths["304"], headers=(f"If-None-Match: {etag}",)),
        # Last: its slow requests, still queued in the workers when wrk stops, would slow the next variant.
        roundrobin.Variant("home", app + "/"),
    ]
    print(
        f"\nround-robin: wrk -t2 -c{args.connections}, a 3 s warm-up each, then {args.rounds} rounds of "
        f"{args.seconds:g} s of every variant in turn",
        flush=True,
    )
    against = {
        "list": "list.floor",
        "deep": "deep.floor",
        "detail": "detail.floor",
        "search": "search.floor",
        "claim page": "detail.floor",
        "/claims/": "list.floor",
        "304": "list.floor",
    }
    if args.paths:
        chosen = set(args.paths.split(","))
        if unknown := chosen - set(paths):
            raise SystemExit(
                f"--paths: no such path {', '.join(sorted(unknown))}; the paths: {', '.join(paths)}"
            )
        paths = {name: path for name, path in paths.items() if name in chosen}
        kept = chosen | {against[name] for name in chosen if name in against}
        variants = [variant for variant in variants if variant.name in kept]
    medians = roundrobin.run(variants, rounds=args.rounds, seconds=args.seconds, connections=args.connections)
    print(f"\nmedians of {args.rounds} rounds ({total:,} claims):")
    print(
        f"{'path':14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'not 2xx':>8} {'queries':>8} "
        f"{'floor':>13} {'floor req/s':>12} {'ratio':>6}"
    )
    for name in paths:
        s = medians[name]
        floor_name = against.get(name)
        floor_part = (
            f"{floor_name:>13} {medians[floor_name].rps:12.1f} {s.rps / medians[floor_name].rps:6.2f}"
            if floor_name
            else f"{'':>13} {'':>12} {'':>6}"
        )
        print(
            f"{name:14} {s.rps:9.1f} {s.p50:8.2f} {s.p99:8.2f} {s.non2xx:8.0f} {queries[name][0]:>8} {floor_part}"
        )
    for name in ("list.floor", "deep.floor", "detail.floor", "search.floor"):
        if name not in medians:
            continue
        s = medians[name]
        print(f"{name:14} {s.rps:9.1f} {s.p50:8.2f} {s.p99:8.2f} {s.non2xx:8.0f}")
    if memory:
        print(f"app workers' resident memory after {args.mixed:,} mixed requests: {_mib(memory)}")
    print(f"app workers' resident memory at the end: {_mib(_worker_memory(app_server.pid))}")


def _id_range() -> tuple[int, int]:
    from django.db.models import Max, Min

    from claims.models import Claim

    bounds = Claim.objects.published().aggregate(low=Min("id"), high=Max("id"))
    return bounds["low"], bounds["high"]


def _etag(base: str, path: str) -> str:
    """The ETag of a 200, asked with no header but Host, as wrk asks (the API's tag depends on Accept)."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200 or not response.getheader("ETag"):
        raise SystemExit(f"{path} answered {response.status} without an ETag: no revalidation to measure.")
    return response.getheader("ETag")


def _gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """gunicorn with 2 sync workers, in a session of its own (so Ctrl-C reaches this script, which stops it)."""
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        app,
        "--workers=2",
        f"--bind=127.0.0.1:{port}",
        "--log-level=warning",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 (gunicorn with fixed arguments, no shell)
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(base: str, servers: list[subprocess.Popen], log: Path) -> None:
    host, port = base.removeprefix("http://").split(":")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(server.poll() is not None for server in servers):
            raise SystemExit(f"A server exited at start: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{base} did not answer within 60 s: {log.read_text()[-2000:]}")


def _stop(server: subprocess.Popen) -> None:
    """gunicorn's graceful stop (SIGTERM to the master, which stops its workers), then its whole group."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _worker_memory(master: int) -> dict[int, float]:
    """Each gunicorn worker's resident memory (VmRSS of /proc/<pid>/status), in MiB."""
    memory = {}
    for worker in psutil.Process(master).children():
        for line in Path(f"/proc/{worker.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                memory[worker.pid] = int(line.split()[1]) / 1024
    return memory


def _mib(memory: dict[int, float]) -> str:
    return ", ".join(f"{mib:.1f} MiB (pid {pid})" for pid, mib in memory.items())


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
