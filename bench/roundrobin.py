"""Round-robin load with wrk: every variant in turn, round after round, and the median of each one's rounds.

A shared or busy machine slows whatever runs while it is busy: alternating the variants (the app's and the
floor's for the same request, one after the other) spreads that noise over both, so their ratio holds where
their absolute figures move. bench/load.py says what the variants are.
"""

from __future__ import annotations

import collections
import concurrent.futures
import http.client
import itertools
import random
import re
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Variant:
    """One load: a URL (or a base URL and a wrk Lua script that makes each request's path), with headers."""

    name: str
    url: str
    script: str | None = None
    headers: tuple[str, ...] = ()


@dataclass
class Figures:
    """A variant's medians over its rounds."""

    rps: float
    p50: float
    p99: float
    non2xx: float
    rounds: list[dict] = field(default_factory=list)


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "make bench needs wrk, the HTTP load generator: apt-get install wrk (or your system's package)."
        )


def random_path_script(folder: Path, name: str, path: str, low: int, high: int) -> str:
    """A wrk script whose every request is `path` with {n} a random whole number from low to high."""
    before, _, after = path.partition("{n}")
    script = folder / f"{name}.lua"
    script.write_text(
        "math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))\n"
        "request = function()\n"
        f"  return wrk.format('GET', '{before}' .. math.random({low}, {high}) .. '{after}')\n"
        "end\n"
    )
    return str(script)


def wrk(variant: Variant, *, seconds: float, connections: int, threads: int = 2) -> dict:
    """One wrk run: requests a second, p50 and p99 in ms, and the responses that were not 2xx or 3xx."""
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    for header in variant.headers:
        command += ["-H", header]
    if variant.script:
        command += ["-s", variant.script]
    out = subprocess.run(  # noqa: S603 (wrk with our own arguments, no shell)
        [*command, variant.url], capture_output=True, text=True, check=True
    ).stdout
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "non2xx": int(refused.group(1)) if refused else 0,
    }


def run(
    variants: list[Variant], *, rounds: int, seconds: float, connections: int, warmup: float = 3
) -> dict[str, Figures]:
    """Each variant warmed up once, then `rounds` rounds of every variant in turn; the medians."""
    for variant in variants:
        warm = wrk(variant, seconds=warmup, connections=connections)
        time.sleep(max(1.0, 2 * warm["p99"] / 1000))
    results: dict[str, list[dict]] = {variant.name: [] for variant in variants}
    for number in range(1, rounds + 1):
        for variant in variants:
            figures = wrk(variant, seconds=seconds, connections=connections)
            results[variant.name].append(figures)
            print(
                f"  round {number}/{rounds} {variant.name:14} {figures['rps']:9.1f} req/s "
                f"p50 {figures['p50']:7.2f} ms p99 {figures['p99']:8.2f} ms",
                flush=True,
            )
            # Requests wrk left queued in the workers finish within about its p99: the next variant starts
            # once they have, not slowed by them.
            time.sleep(max(1.0, 2 * figures["p99"] / 1000))
    return {
        name: Figures(
            rps=statistics.median(r["rps"] for r in runs),
            p50=statistics.median(r["p50"] for r in runs),
            p99=statistics.median(r["p99"] for r in runs),
            non2xx=statistics.median(r["non2xx"] for r in runs),
            rounds=runs,
        )
        for name, runs in results.items()
    }


def mixed(base: str, requests: list[tuple[str, str]], *, total: int, connections: int) -> dict:
    """`total` requests from `connections` threads, cycling through `requests`: each a path, where {n} is
    replaced by a random number in the path's range ("/api/v1/claims/{n}/|1|1000000"), and one header line
    to send with it, or "" (the revalidation's If-None-Match). A count, not a duration (wrk has only the
    latter): what a worker's memory is read after."""
    host, port = base.removeprefix("http://").split(":")
    order = itertools.cycle(requests)
    lock = threading.Lock()
    statuses: collections.Counter = collections.Counter()

    def one(_: int) -> None:
        with lock:
            path, header = next(order)
        template, low, high = ([*path.split("|"), "0", "0"])[:3]
        url = template.replace("{n}", str(random.randint(int(low), int(high))))  # noqa: S311 (not secret)
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.putrequest("GET", url, skip_accept_encoding=True)
        if header:
            connection.putheader(*header.split(": ", 1))
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        connection.close()
        with lock:
            statuses[response.status] += 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        list(pool.map(one, range(total)))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rps": total / seconds,
        "non2xx": sum(count for status, count in statuses.items() if status >= 400),
    }


def _lua(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]
