"""Backups of the database: pg_dump's custom format (-Fc) into backups/, and pg_restore back.

`manage.py backup` and `manage.py restore` (`make backup`, `make restore FILE=...`) call these functions
with settings.DATABASES["default"]: the embedded PostgreSQL or the server DATABASE_URL names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from psycopg import pq
from psycopg.conninfo import make_conninfo

BACKUP_DIR = Path(__file__).resolve().parent.parent / "backups"

# What pg_restore does with a backup: drop each object it holds (if there) and create it again, owned by
# whoever restores it, all in one transaction, so a failure leaves the database as it was.
RESTORE_OPTIONS = ["--clean", "--if-exists", "--no-owner", "--single-transaction"]


def client_program(name: str) -> Path:
    """The pg_dump or pg_restore to run: from PG_BIN_DIR when set, else pgserver's own (the embedded
    server's version, PostgreSQL 16), else the first on PATH. Raises CommandError when there is none."""
    if bin_dir := os.environ.get("PG_BIN_DIR"):
        candidates = [Path(bin_dir) / name]
    else:
        from pgserver._commands import POSTGRES_BIN_PATH  # pgserver's bin directory; no server is started

        on_path = shutil.which(name)
        candidates = [POSTGRES_BIN_PATH / name, *([Path(on_path)] if on_path else [])]
    for program in candidates:
        if program.is_file() and os.access(program, os.X_OK):
            return program
    raise CommandError(
        f"No {name} found (looked in: {', '.join(str(c) for c in candidates) or 'PATH'}): install the"
        " PostgreSQL client programs, or set PG_BIN_DIR to the directory that holds them."
    )


def connection_arguments(database: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A libpq connection string for a Django DATABASES entry, and the environment to run a client in.

    The password goes in PGPASSWORD, not on the command line, where any user on the machine could read it.
    OPTIONS that are libpq parameters (sslmode, host for a socket, connect_timeout...) are kept.
    """
    libpq_parameters = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    fields = {
        "dbname": database["NAME"],
        "user": database.get("USER"),
        "host": database.get("HOST"),
        "port": str(database.get("PORT") or ""),
    }
    fields.update(
        (key, str(value))
        for key, value in (database.get("OPTIONS") or {}).items()
        if key in libpq_parameters and key != "password"
    )
    environment = dict(os.environ)
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = str(database["PASSWORD"])
    return make_conninfo(**{key: value for key, value in fields.items() if value}), environment


def backup_database(database: dict[str, Any], directory: Path = BACKUP_DIR) -> tuple[Path, Path]:
    """Dump the database to directory/factcheck-YYYYmmdd-HHMMSS.dump (UTC), readable by its owner only.

    Returns (the file, the pg_dump that wrote it). The dump is written under a temporary name and given
    its final one once pg_dump has succeeded, so a file with that name is always a whole backup. Raises
    CommandError, leaving no new file, when pg_dump fails or a backup of the same second exists. Reads the
    whole database (one transaction).
    """
    pg_dump = client_program("pg_dump")
    conninfo, environment = connection_arguments(database)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"factcheck-{datetime.now(UTC):%Y%m%d-%H%M%S}.dump"
    partial = path.with_name(path.name + ".partial")
    # The dump holds every account's password hash and session: only its owner may read it. pg_dump writes
    # into the file made here (keeping its mode), not to a pipe: a seekable file gets the table of contents
    # with each table's offset, which pg_restore uses to restore tables selectively or in parallel.
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise CommandError(f"Another backup is being written to {partial} this second: try again.") from None
    try:
        result = subprocess.run(  # noqa: S603 (a fixed program and arguments, no shell)
            [str(pg_dump), "--format=custom", "--no-password", f"--file={partial}", f"--dbname={conninfo}"],
            capture_output=True,
            env=environment,
            check=False,
        )
        if result.returncode != 0:
            raise CommandError(f"{pg_dump} failed: {_last_line(result.stderr)}")
        os.link(partial, path)  # unlike a rename, never replaces a backup made in the same second
    except FileExistsError:
        raise CommandError(f"{path} already exists (a backup made this second): try again.") from None
    finally:
        partial.unlink(missing_ok=True)
    return path, pg_dump


def restore_database(database: dict[str, Any], path: Path) -> Path:
    """Restore a custom-format dump into the database: each object it holds is dropped and created again,
    with its rows, in one transaction (a failure changes nothing). Objects the dump does not hold are left.

    Returns the pg_restore that ran. Raises CommandError when the file is missing or pg_restore fails.
    """
    if not path.is_file():
        raise CommandError(f"No backup file {path}.")
    pg_restore = client_program("pg_restore")
    conninfo, environment = connection_arguments(database)
    result = subprocess.run(  # noqa: S603 (a fixed program and arguments, no shell)
        [str(pg_restore), *RESTORE_OPTIONS, "--no-password", f"--dbname={conninfo}", str(path)],
        capture_output=True,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        raise CommandError(f"{pg_restore} failed, and the database is as it was: {_last_line(result.stderr)}")
    return pg_restore


def _last_line(output: bytes) -> str:
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    # pg_restore ends with a summary ("errors ignored on restore: 1"); the error itself comes before.
    errors = [line for line in lines if "error:" in line]
    return (errors or lines or ["no message"])[0 if errors else -1].strip()


def human_size(size: int) -> str:
    """1234567 -> "1.2 MB"."""
    if size < 1024:
        return f"{size} bytes"
    scaled = size / 1024
    for unit in ("kB", "MB"):
        if scaled < 1024:
            return f"{scaled:.1f} {unit}"
        scaled /= 1024
    return f"{scaled:.1f} GB"
