"""The embedded PostgreSQL used when DATABASE_URL is unset (development and tests).

pgserver ships the PostgreSQL binaries as a wheel and runs a private server under .data/pg, listening on a
Unix socket only, so it never collides with another PostgreSQL on the machine. The server is left running
when the process exits: the next command reuses it and starts in milliseconds. `make db-stop` stops it
(`python -m factcheck.embedded_db stop`).

The server's state is read from its postmaster.pid, checked against the process table, before pgserver is
asked for it (pgserver only asserts, and trusts any live process with that PID). What PostgreSQL recovers
from by itself we let it recover from, and say so: a pid file whose process is gone (a crash, kill -9).
Anything else it would refuse, or that only a person can judge (a damaged pid file, its PID reused by
another program, a server still shutting down), stops the start with one line that says what to do.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from django.core.exceptions import ImproperlyConfigured
from psycopg import errors, sql

DATABASE_NAME = "factcheck"
BASE_DIR = Path(__file__).resolve().parent.parent

# A fast shutdown or a start normally takes well under a second; crash recovery can take longer.
STOP_TIMEOUT = 30.0
STOPPING_WAIT = 5.0
STARTING_WAIT = 30.0
# The states of a pid file PostgreSQL would refuse to start over (see Postmaster): a person's to fix.
STUCK = ("damaged", "other", "exited")
# pgserver's own bookkeeping file under the data directory (which processes hold a handle on the server).
HANDLE_LIST = ".handle_pids.json"


def default_data_dir() -> Path:
    """FACTCHECK_DATA_DIR, else .data/ in the project (what settings.py passes to database_url)."""
    return Path(os.environ.get("FACTCHECK_DATA_DIR") or BASE_DIR / ".data")


def database_url(data_dir: Path, name: str = DATABASE_NAME) -> str:
    """Start (or find) the embedded server under data_dir and return a URL for its database `name`.

    The first time, creates the server's data directory (saying so, loudly) and the database (one
    connection, two statements); afterwards it costs a read of postmaster.pid, a look at one process and a
    check of a marker file. Raises ImproperlyConfigured, with one line saying what to do, when the server
    cannot be started.
    """
    data_dir = data_dir.expanduser().resolve()
    pgdata = data_dir / "pg"
    _announce_new_database(data_dir, pgdata)
    _make_way_to_start(pgdata)
    server = _start(pgdata)
    marker = pgdata / f".{name}-database-created"
    if not marker.exists():
        try:
            create_database_if_missing(server.get_uri("postgres"), name)
        except psycopg.OperationalError as error:
            raise ImproperlyConfigured(
                f"The embedded PostgreSQL under {pgdata} started but does not answer ({_first_line(error)});"
                f" its log is {pgdata / 'log'}."
            ) from None
        marker.touch()
    return server.get_uri(name)


def create_database_if_missing(server_url: str, name: str) -> None:
    """Create the database `name` on the server that `server_url` (any of its databases) points at.

    One connection, one or two statements. Two processes doing it at once are fine: the one that loses
    the race finds the database there.
    """
    with psycopg.connect(server_url, autocommit=True) as conn:  # CREATE DATABASE cannot run in a transaction
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        # Another process may create it between the check and here: then it is there, as wanted.
        with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@dataclass(frozen=True)
class Postmaster:
    """What postmaster.pid says about the server, checked against the process table.

    `state` is one of: "absent" (no pid file: not running), "gone" (its process has exited: a crash or
    kill -9), "exited" (its process has exited but is not reaped yet: `other_program` is the parent),
    "damaged" (the file cannot be read as a pid file), "other" (its PID is now another program),
    "running" (a PostgreSQL on this data directory; `status` is the file's: ready, starting, stopping).
    `running` is the live PostgreSQL on this data directory, if any, whatever the file says.
    """

    state: str
    pid_file: Path
    pid: int | None = None
    status: str = ""
    running: psutil.Process | None = None
    other_program: str = ""


def read_postmaster(pgdata: Path) -> Postmaster:
    """Read pgdata/postmaster.pid and find out whether its server runs. A file read and a process lookup
    (a scan of the process table when the file is damaged or names another program)."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return Postmaster("absent", pid_file)
    except PermissionError:
        raise ImproperlyConfigured(
            f"Cannot read {pid_file}: run this as the user that owns {pgdata}."
        ) from None
    first = lines[0].strip() if lines else ""
    if not first.isdigit() or int(first) <= 0:
        return Postmaster("damaged", pid_file, running=_postmaster_on(pgdata))
    pid = int(first)
    # Line 8 is the server's status; the file is written line by line while it starts.
    status = lines[7].strip() if len(lines) >= 8 else "starting"
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            # It has exited, but PostgreSQL counts it alive until its parent reaps it (normally at once).
            parent = f"process {process.ppid()}"
            return Postmaster("exited", pid_file, pid, running=_postmaster_on(pgdata), other_program=parent)
        if _is_postmaster_of(process, pgdata):
            return Postmaster("running", pid_file, pid, status, process)
        program = process.name()
    except psutil.NoSuchProcess:
        return Postmaster("gone", pid_file, pid)
    except psutil.AccessDenied:
        # A PostgreSQL on this data directory runs as its owner, whom we can inspect: this is someone else.
        program = "a process of another user"
    return Postmaster("other", pid_file, pid, running=_postmaster_on(pgdata), other_program=program)


def _is_postmaster_of(process: psutil.Process, pgdata: Path) -> bool:
    try:
        return process.name() == "postgres" and str(pgdata) in process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _postmaster_on(pgdata: Path) -> psutil.Process | None:
    """The PostgreSQL server process started on pgdata (`postgres -D pgdata`), if one runs. Scans the
    process table (as pgserver does before it initialises a data directory)."""
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "postgres" and _is_postmaster_of(process, pgdata):
            return process
    return None


def _make_way_to_start(pgdata: Path) -> None:
    """Leave pgdata so that pgserver can start or reuse its server, or raise ImproperlyConfigured.

    Waits (bounded) for a server that is starting or finishing a fast shutdown.
    """
    deadline = {"starting": time.monotonic() + STARTING_WAIT, "stopping": time.monotonic() + STOPPING_WAIT}
    while True:
        server = read_postmaster(pgdata)
        if server.state == "absent" or (server.state == "running" and server.status == "ready"):
            return
        if server.state == "gone":
            # PostgreSQL removes a pid file whose process is gone, and replays its log: a normal start.
            print(
                f"Note: the embedded PostgreSQL under {pgdata} did not shut down cleanly (its process"
                f" {server.pid} is gone); starting it again, PostgreSQL recovers from its log.",
                file=sys.stderr,
            )
            return
        if server.state == "exited" and time.monotonic() < deadline["stopping"]:
            time.sleep(0.2)
            continue
        if server.state in STUCK:
            raise ImproperlyConfigured(_stuck_message(server))
        if server.status in deadline and time.monotonic() < deadline[server.status]:
            time.sleep(0.2)
            continue
        raise ImproperlyConfigured(_running_but_not_ready_message(server, pgdata))


def _stuck_message(server: Postmaster) -> str:
    """One line for a pid file that PostgreSQL would refuse to start over."""
    if server.state == "damaged":
        what = f"{server.pid_file} is damaged (it does not start with a process id)"
    elif server.state == "exited":
        what = (
            f"{server.pid_file} names process {server.pid}, which has exited but was not reaped by its parent"
            f" ({server.other_program})"
        )
    else:
        what = (
            f"{server.pid_file} names process {server.pid}, which is now another program"
            f" ({server.other_program}), not PostgreSQL: the file is left from a server that was killed or a"
            " machine that restarted"
        )
    if server.running is not None:
        return (
            f"{what}, and PostgreSQL (process {server.running.pid}) still runs on {server.pid_file.parent}:"
            " run `make db-stop` to stop it, then try again."
        )
    return (
        f"{what}; no PostgreSQL runs on {server.pid_file.parent}, so remove the file"
        f" (rm {server.pid_file}) and try again."
    )


def _running_but_not_ready_message(server: Postmaster, pgdata: Path) -> str:
    if server.status == "stopping":
        return (
            f"The embedded PostgreSQL (process {server.pid}) is shutting down, waiting for its open connections"
            " to close (is a `make run` still serving?): run `make db-stop` to stop it now, then try again."
        )
    if server.status == "starting":
        return (
            f"The embedded PostgreSQL (process {server.pid}) is still starting after {STARTING_WAIT:.0f} s"
            f" (recovering after a crash?): its log is {pgdata / 'log'}; try again once it says"
            " 'ready to accept connections', or run `make db-stop`."
        )
    return (
        f"The embedded PostgreSQL (process {server.pid}) is in state {server.status!r}, not ready: its log is"
        f" {pgdata / 'log'}; run `make db-stop`, then try again."
    )


def _announce_new_database(data_dir: Path, pgdata: Path) -> None:
    """Say loudly, on stderr, that a new and empty database is about to be made, and where.

    Refuses a pgdata that holds files but no database (initdb would fail on it, and they may be someone's).
    """
    if (pgdata / "PG_VERSION").exists():
        return
    if pgdata.is_dir() and any(pgdata.iterdir()):
        raise ImproperlyConfigured(
            f"{pgdata} holds files but no PostgreSQL database (no PG_VERSION): move it out of the way to start"
            " with a new, empty database, or restore a backup into a new one (see README: Backups)."
        )
    lines = [
        f"No database at {pgdata}:",
        "creating a NEW, EMPTY PostgreSQL database there.",
    ]
    if data_dir.exists():
        lines += [
            f"{data_dir} was already there, without its database: if you had data in it, they were moved or",
            "deleted. Stop here (make db-stop) and put them back, or restore a backup into the new database:",
            "make restore FILE=backups/factcheck-<date>.dump (see README: Backups).",
        ]
    border = "WARNING: " + "-" * 78
    print("\n".join([border, *(f"WARNING: {line}" for line in lines), border]), file=sys.stderr)


@contextlib.contextmanager
def _quiet_pgserver():
    """pgserver warns about XDG_RUNTIME_DIR and logs whole server logs at ERROR: our messages say it once."""
    logger = logging.getLogger("pgserver")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _start(pgdata: Path):
    """Start the server on pgdata, or reuse the one running; raises ImproperlyConfigured when it fails."""
    with _quiet_pgserver():
        import pgserver

        try:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            pgdata.mkdir(exist_ok=True)
            _repair_handle_list(pgdata)
            # Not pgserver.get_server(): it caches a handle per directory, which outlives a server stopped
            # meanwhile. A new handle reads postmaster.pid again (and replaces the cached one).
            try:
                server = pgserver.PostgresServer(pgdata, cleanup_mode=None)
            except json.JSONDecodeError:
                # Another process was rewriting the list at that instant: it is only bookkeeping, try again.
                _repair_handle_list(pgdata)
                server = pgserver.PostgresServer(pgdata, cleanup_mode=None)
            # At exit pgserver would rewrite the list again, for a cleanup that cleanup_mode=None never does;
            # a process killed during that write leaves the file empty, and every later start would fail.
            atexit.unregister(server._cleanup)
            return server
        except (AssertionError, ValueError, OSError, subprocess.SubprocessError) as error:
            server = read_postmaster(pgdata)
            if server.state in STUCK:
                raise ImproperlyConfigured(_stuck_message(server)) from None
            detail = _last_fatal_line(pgdata / "log") or _first_line(error) or type(error).__name__
            raise ImproperlyConfigured(
                f"The embedded PostgreSQL under {pgdata} did not start: {detail} (its log is {pgdata / 'log'})."
            ) from None


def _repair_handle_list(pgdata: Path) -> None:
    """Empty pgserver's list of the processes using the server (.handle_pids.json) when it is not a list.

    pgserver writes it in place, without a lock, so a process killed or racing another mid-write leaves it
    empty or cut short, and pgserver then fails every start on it. With cleanup_mode=None the list decides
    nothing (the server is never stopped for its handles), so an empty one is always a safe repair.
    """
    path = pgdata / HANDLE_LIST
    try:
        valid = isinstance(json.loads(path.read_text()), list)
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        valid = False
    if not valid:
        path.write_text("[]")
        print(
            f"Note: {path} (pgserver's list of the processes using the server) was damaged; emptied it.",
            file=sys.stderr,
        )


def _last_fatal_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line for line in log.read_text(errors="replace").splitlines() if "FATAL:" in line]
        if lines:
            return lines[-1].split("FATAL:", 1)[1].strip()
    return ""


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else ""


def stop_server(pgdata: Path, timeout: float = STOP_TIMEOUT) -> tuple[bool, str]:
    """Stop the server on pgdata with a fast shutdown (SIGINT: open sessions are ended, their transactions
    rolled back, then a checkpoint) and wait up to `timeout` seconds for it to exit.

    Returns (whether the server is now stopped, a line saying what happened and, if needed, what to do).
    """
    server = read_postmaster(pgdata)
    process = server.running
    if process is None:
        if server.state in STUCK:
            return True, f"The embedded PostgreSQL is not running, but {_stuck_message(server)}"
        if server.state == "gone":
            return True, (
                f"The embedded PostgreSQL is not running (it did not shut down cleanly: process {server.pid} is"
                " gone); the next start recovers it."
            )
        return True, "The embedded PostgreSQL is not running."
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _alive(process):
        if time.monotonic() > deadline:
            return False, (
                f"The embedded PostgreSQL (process {process.pid}) is still running {timeout:.0f} s after a fast"
                f" shutdown was asked for; its log is {pgdata / 'log'}. To stop it at once: kill -QUIT"
                f" {process.pid} (an immediate shutdown: PostgreSQL recovers on the next start)."
            )
        time.sleep(0.1)
    return True, f"Stopped the embedded PostgreSQL (process {process.pid}, {pgdata})."


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def main(argv: list[str] | None = None) -> int:
    """`python -m factcheck.embedded_db stop`: what `make db-stop` runs. Needs no Django settings."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m factcheck.embedded_db")
    parser.add_argument("command", choices=["stop"])
    parser.add_argument("--data-dir", type=Path, default=None, help="default: FACTCHECK_DATA_DIR or .data/")
    parser.add_argument("--timeout", type=float, default=STOP_TIMEOUT, help="seconds to wait for the exit")
    options = parser.parse_args(argv)
    pgdata = (options.data_dir or default_data_dir()).expanduser().resolve() / "pg"
    try:
        stopped, message = stop_server(pgdata, options.timeout)
    except ImproperlyConfigured as error:
        stopped, message = False, str(error)
    print(message, file=sys.stdout if stopped else sys.stderr)
    return 0 if stopped else 1


if __name__ == "__main__":
    sys.exit(main())
