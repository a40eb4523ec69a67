from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.test import override_settings

from claims.models import Claim, StatusChange, Verdict
from tests.conftest import unused_port

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
@pytest.mark.parametrize(("username", "group"), [("editor", "Editors"), ("reviewer", "Reviewers")])
def test_the_development_accounts_can_log_in_each_in_its_group(client, capsys, username, group):
    call_command("create_dev_editor")
    call_command("create_dev_editor")  # a second run keeps the one account
    assert f"username {username}, password {username}" in capsys.readouterr().out
    user = User.objects.get(username=username)
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [group]
    # django-axes checks every login against its lockouts and so needs the request (any will do here).
    assert client.login(request=HttpRequest(), username=username, password=username)


@override_settings(DEBUG=False)
def test_the_development_accounts_are_never_created_with_debug_off():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("create_dev_editor")
    assert not User.objects.filter(username__in=["editor", "reviewer"]).exists()


def test_the_benchmark_generator_refuses_a_real_database(statuses):
    with pytest.raises(CommandError, match="Refusing"):
        call_command("generate_claims", 10)
    assert Claim.objects.count() == 0


def test_the_benchmark_generator_makes_public_claims_with_their_history(statuses):
    call_command("generate_claims", 60, "--speakers", "7", "--i-know")
    assert Claim.objects.published().count() == 60
    assert Verdict.objects.published().count() == StatusChange.objects.count() == 60
    claim = Claim.objects.select_related("speaker", "status").first()
    assert claim.speaker_name == claim.speaker.name
    assert claim.verdicts.get().status == claim.status
    assert Claim.objects.search("ceasefire").exists()


# --- starting the app: `make run` and the container's start command -------------------------------------
# Both are run for real, with `python` (and `gunicorn`) replaced by a script that logs its arguments and
# fails for the step under test.

FAKE_PROGRAM = """#!/bin/sh
echo "$(basename "$0") $*" >> "$LOG"
case "$*" in *"$FAIL"*) echo "$FAIL failed" >&2; exit 1;; esac
"""


def _fake_programs(directory: Path, *names: str) -> None:
    directory.mkdir(parents=True)
    for name in names:
        program = directory / name
        program.write_text(FAKE_PROGRAM)
        program.chmod(0o755)


def _start(
    command: list[str], tmp_path: Path, fail: str, **env_vars: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = tmp_path / "log"
    log.touch()
    env = {**os.environ, "LOG": str(log), "FAIL": fail, **env_vars}
    env.pop("DEV_ACCOUNT", None)
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    done = subprocess.run(  # noqa: S603 (our own Makefile and Dockerfile)
        command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return done, [line.split(" manage.py ")[-1].split()[0] for line in log.read_text().splitlines()]


def _make_run(tmp_path: Path) -> list[str]:
    venv = tmp_path / "venv"
    _fake_programs(venv / "bin", "python")
    (tmp_path / "bin").mkdir()
    (venv / ".installed").touch()  # newer than pyproject.toml: make installs nothing
    return [
        shutil.which("make") or "make",
        "--no-print-directory",
        "run",
        f"VENV={venv}",
        f"PORT={unused_port()}",
    ]


def _container_start(tmp_path: Path) -> list[str]:
    _fake_programs(tmp_path / "bin", "python", "gunicorn")
    (cmd,) = [
        line
        for line in (settings.BASE_DIR / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD ")
    ]
    return json.loads(cmd.removeprefix("CMD "))


@pytest.mark.parametrize("start", [_make_run, _container_start])
def test_the_app_starts_serving_when_the_default_data_fail_to_load(tmp_path: Path, start):
    done, steps = _start(start(tmp_path), tmp_path, fail="load_default_data")

    assert done.returncode == 0, done.stderr
    assert (
        "WARNING: the default data were not loaded (the error is above); serving without them." in done.stderr
    )
    assert steps[:2] == ["migrate", "load_default_data"]
    assert steps[-1] in {"runserver", "gunicorn"}


@pytest.mark.parametrize("start", [_make_run, _container_start])
def test_the_app_does_not_start_when_migrate_fails(tmp_path: Path, start):
    done, steps = _start(start(tmp_path), tmp_path, fail="migrate")

    assert done.returncode != 0
    assert "migrate failed" in done.stderr
    assert steps == ["migrate"]


@pytest.mark.parametrize(
    ("database_url", "dev_account", "created"),
    [
        ("", None, True),
        ("postgres://editor@db.example/factcheck", None, False),
        ("postgres://db/x", "yes", True),
    ],
)
def test_make_run_makes_the_development_account_on_another_database_only_when_asked(
    tmp_path: Path, database_url: str, dev_account: str | None, created: bool
):
    command = _make_run(tmp_path) + ([f"DEV_ACCOUNT={dev_account}"] if dev_account else [])
    done, steps = _start(command, tmp_path, fail="nothing fails", DATABASE_URL=database_url)

    assert done.returncode == 0, done.stderr
    assert ("create_dev_editor" in steps) is created
    assert ("(editor / editor and reviewer / reviewer, development only)" in done.stdout) is created
    if not created:
        assert "No development account: DATABASE_URL is set (make run DEV_ACCOUNT=yes" in done.stdout
    assert steps[-1] == "runserver"


def test_make_run_stops_at_once_with_the_fix_when_the_port_is_busy(tmp_path: Path):
    command = _make_run(tmp_path)[:-1]
    with socket.socket() as busy, socket.socket() as next_one_busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with contextlib.suppress(OSError):  # busy already, as wanted
            next_one_busy.bind(("127.0.0.1", port + 1))
        done, steps = _start([*command, f"PORT={port}"], tmp_path, fail="nothing fails")

    assert done.returncode != 0
    message = done.stderr.splitlines()[0]
    prefix = (
        f"factcheck: port {port} is in use on 127.0.0.1; stop what uses it or choose another: make run PORT="
    )
    assert message.startswith(prefix)
    suggested = int(message.removeprefix(prefix))
    assert suggested > port + 1  # the next port is busy too: never suggest a busy one
    assert steps == []  # no install, no migrate, no server


def test_make_worker_migrates_then_runs_the_procrastinate_worker(tmp_path: Path):
    command = _make_run(tmp_path)
    command[2] = "worker"
    done, steps = _start(command, tmp_path, fail="nothing")
    assert done.returncode == 0, done.stderr
    assert steps == ["migrate", "procrastinate"]
    log = tmp_path / "log"
    assert "procrastinate worker --concurrency=4" in log.read_text()


def test_make_worker_does_not_start_when_migrate_fails(tmp_path: Path):
    command = _make_run(tmp_path)
    command[2] = "worker"
    done, steps = _start(command, tmp_path, fail="migrate")
    assert done.returncode != 0
    assert steps == ["migrate"]


def test_make_run_says_the_worker_is_a_separate_command(tmp_path: Path):
    done, _ = _start(_make_run(tmp_path), tmp_path, fail="nothing")
    assert done.returncode == 0, done.stderr
    assert "Webhooks and overdue events need `make worker` in another terminal." in done.stdout
