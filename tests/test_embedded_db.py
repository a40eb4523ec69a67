"""factcheck/embedded_db.py: the embedded PostgreSQL's start, stop and failures, and creating a database."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import psutil
import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from psycopg import sql
from psycopg.conninfo import make_conninfo

from factcheck import embedded_db
from factcheck.embedded_db import create_database_if_missing, database_url, read_postmaster, stop_server


def _server_url() -> str:
    """A connection string for the test database's server (any database on it will do)."""
    params = connection.settings_dict
    fields = {"dbname": "postgres", "user": params["USER"], "password": params["PASSWORD"]}
    fields.update(host=params["HOST"], port=str(params["PORT"] or ""))
    return make_conninfo(**{key: value for key, value in fields.items() if value})


def _databases_named(server: str, name: str) -> int:
    with psycopg.connect(server, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone()[0]


def test_a_missing_database_is_created_and_an_existing_one_is_left_as_it_is():
    server = _server_url()
    name = f"factcheck_created_{uuid4().hex[:12]}"
    try:
        assert _databases_named(server, name) == 0
        create_database_if_missing(server, name)
        with psycopg.connect(make_conninfo(server, dbname=name), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
        create_database_if_missing(server, name)

        assert _databases_named(server, name) == 1
        with psycopg.connect(make_conninfo(server, dbname=name)) as conn:
            assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


# The embedded server's own life: each test runs a server of its own in a temporary directory (never the
# suite's), and stops it at the end.


@pytest.fixture
def data_dir():
    """A data directory of the test's own, its server stopped and the directory removed afterwards.

    Not under tmp_path: run as root, pgserver runs the server as the user "pgserver", who must reach the
    directory, and every pytest run that starts makes /tmp/pytest-of-root private again.
    """
    parent = Path(tempfile.mkdtemp(prefix="factcheck-embedded-"))
    yield parent / "data"
    stopped, message = stop_server(parent / "data" / "pg")
    shutil.rmtree(parent, ignore_errors=True)
    assert stopped, message


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])


def _is_running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {seconds} s"
        time.sleep(0.05)


def _db_stop(data_dir: Path) -> subprocess.CompletedProcess:
    """What `make db-stop` runs."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "factcheck.embedded_db", "stop", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_db_stop_stops_a_server_whose_connection_is_open_and_the_next_start_works(data_dir, capsys):
    url = database_url(data_dir)
    assert "creating a NEW, EMPTY PostgreSQL database" in capsys.readouterr().err
    pid = _postmaster_pid(data_dir)
    held = psycopg.connect(url)  # what a running `make run` holds: a smart shutdown would wait for it

    stopped = _db_stop(data_dir)

    assert stopped.returncode == 0
    assert stopped.stdout == f"Stopped the embedded PostgreSQL (process {pid}, {data_dir / 'pg'}).\n"
    assert not _is_running(pid)
    assert not (data_dir / "pg" / "postmaster.pid").exists()
    with pytest.raises(psycopg.OperationalError):
        held.execute("SELECT 1")
    held.close()
    again = _db_stop(data_dir)
    assert (again.returncode, again.stdout) == (0, "The embedded PostgreSQL is not running.\n")

    with psycopg.connect(database_url(data_dir)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _postmaster_pid(data_dir) != pid
    assert capsys.readouterr().err == ""  # the same database again: nothing to announce


def test_a_server_left_waiting_by_a_smart_shutdown_is_explained_and_db_stop_ends_it(data_dir, monkeypatch):
    monkeypatch.setattr(embedded_db, "STOPPING_WAIT", 0.5)
    held = psycopg.connect(database_url(data_dir))
    pid = _postmaster_pid(data_dir)
    os.kill(pid, signal.SIGTERM)  # what db-stop used to send: the server waits for `held` to close
    _wait_for(lambda: read_postmaster(data_dir / "pg").status == "stopping")

    with pytest.raises(ImproperlyConfigured) as refused:
        database_url(data_dir)

    assert str(refused.value) == (
        f"The embedded PostgreSQL (process {pid}) is shutting down, waiting for its open connections to close"
        " (is a `make run` still serving?): run `make db-stop` to stop it now, then try again."
    )
    assert _db_stop(data_dir).returncode == 0
    assert not _is_running(pid)
    held.close()
    with psycopg.connect(database_url(data_dir)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_killed_server_is_started_again_and_the_recovery_is_said(data_dir, capsys):
    with psycopg.connect(database_url(data_dir)) as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept VALUES (1)")
    pid = _postmaster_pid(data_dir)
    os.kill(pid, signal.SIGKILL)  # a crash: postmaster.pid stays behind
    _wait_for(lambda: not _is_running(pid))
    capsys.readouterr()

    url = database_url(data_dir)

    assert capsys.readouterr().err == (
        f"Note: the embedded PostgreSQL under {data_dir / 'pg'} did not shut down cleanly (its process {pid} is"
        " gone); starting it again, PostgreSQL recovers from its log.\n"
    )
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT id FROM kept").fetchall() == [(1,)]


def test_a_damaged_pid_file_stops_the_start_with_its_fix(data_dir):
    database_url(data_dir)
    assert _db_stop(data_dir).returncode == 0
    pid_file = data_dir / "pg" / "postmaster.pid"
    pid_file.write_text("garbage\n")

    with pytest.raises(ImproperlyConfigured) as refused:
        database_url(data_dir)

    assert str(refused.value) == (
        f"{pid_file} is damaged (it does not start with a process id); no PostgreSQL runs on"
        f" {data_dir / 'pg'}, so remove the file (rm {pid_file}) and try again."
    )
    pid_file.unlink()  # the fix it names
    with psycopg.connect(database_url(data_dir)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_pid_file_naming_another_program_stops_the_start_with_its_fix(data_dir):
    database_url(data_dir)
    pid_file = data_dir / "pg" / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    assert _db_stop(data_dir).returncode == 0
    other = subprocess.Popen(["sleep", "60"])  # noqa: S607 (the PID reused after a crash or a reboot)
    try:
        pid_file.write_text("\n".join([str(other.pid), *lines[1:]]) + "\n")

        with pytest.raises(ImproperlyConfigured) as refused:
            database_url(data_dir)
        stop = _db_stop(data_dir)
    finally:
        other.kill()
        other.wait()

    fix = f"no PostgreSQL runs on {data_dir / 'pg'}, so remove the file (rm {pid_file}) and try again."
    assert str(refused.value) == (
        f"{pid_file} names process {other.pid}, which is now another program (sleep), not PostgreSQL: the"
        f" file is left from a server that was killed or a machine that restarted; {fix}"
    )
    assert stop.returncode == 0  # nothing to stop, and db-stop says what the next start needs
    assert stop.stdout.startswith("The embedded PostgreSQL is not running, but ")
    assert stop.stdout.endswith(f"{fix}\n")
    pid_file.unlink()
    with psycopg.connect(database_url(data_dir)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_data_directory_that_lost_its_database_is_announced_loudly(data_dir, capsys):
    data_dir.mkdir()  # .data/ is there, its pg/ is not: moved or deleted

    database_url(data_dir)

    warning = capsys.readouterr().err
    assert f"WARNING: No database at {data_dir / 'pg'}:" in warning
    assert "WARNING: creating a NEW, EMPTY PostgreSQL database there." in warning
    assert f"WARNING: {data_dir} was already there, without its database" in warning
    assert "make restore FILE=backups/" in warning


def test_files_that_are_not_a_database_are_left_alone(tmp_path):
    stray = tmp_path / "data" / "pg" / "notes.txt"
    stray.parent.mkdir(parents=True)
    stray.write_text("not a database")

    with pytest.raises(
        ImproperlyConfigured, match=r"holds files but no PostgreSQL database \(no PG_VERSION\)"
    ):
        database_url(tmp_path / "data")

    assert [path.name for path in stray.parent.iterdir()] == ["notes.txt"]


def test_a_pid_file_naming_an_exited_process_not_yet_reaped_stops_the_start_with_its_fix(
    data_dir, monkeypatch
):
    monkeypatch.setattr(embedded_db, "STOPPING_WAIT", 0.5)
    database_url(data_dir)
    pid_file = data_dir / "pg" / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    assert _db_stop(data_dir).returncode == 0
    exited = subprocess.Popen(["true"])  # noqa: S607 (a zombie until we reap it: PostgreSQL counts it alive)
    try:
        _wait_for(lambda: psutil.Process(exited.pid).status() == psutil.STATUS_ZOMBIE)
        pid_file.write_text("\n".join([str(exited.pid), *lines[1:]]) + "\n")

        with pytest.raises(ImproperlyConfigured) as refused:
            database_url(data_dir)
    finally:
        exited.wait()

    assert str(refused.value) == (
        f"{pid_file} names process {exited.pid}, which has exited but was not reaped by its parent (process"
        f" {os.getpid()}); no PostgreSQL runs on {data_dir / 'pg'}, so remove the file (rm {pid_file}) and"
        " try again."
    )
    pid_file.unlink()
    with psycopg.connect(database_url(data_dir)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("damage", ["", "[12, 3", "not json", '{"pids": []}'])
def test_a_damaged_handle_list_is_emptied_and_the_server_starts(data_dir, capsys, damage):
    # pgserver rewrites .handle_pids.json in place: a process killed mid-write leaves it empty or cut short.
    database_url(data_dir)
    handle_list = data_dir / "pg" / ".handle_pids.json"
    handle_list.write_text(damage)
    capsys.readouterr()

    url = database_url(data_dir)

    assert "was damaged; emptied it." in capsys.readouterr().err
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert isinstance(json.loads(handle_list.read_text()), list)
