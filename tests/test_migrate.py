"""Two `manage.py migrate` at once on a new database (`make run` and `make worker` started together) both
succeed: the second waits for the first and finds nothing left to do."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

from tests.conftest import ROOT, SETTINGS_VARIABLES, the_test_database_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_database():
    """An empty database on the test server, dropped afterwards."""
    name = connection.settings_dict["NAME"] + "_migrate"
    # CREATE and DROP DATABASE run outside a transaction: a connection of their own, in autocommit.
    with psycopg.connect(the_test_database_url(), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(the_test_database_url())._replace(path="/" + name))
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_migrations_started_together_on_a_new_database_both_succeed(new_database):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(DEBUG="true", DATABASE_URL=new_database)
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    # One of them applied the migrations; the other waited and found none left.
    assert sorted("No migrations to apply." in output for output in outputs) == [False, True], outputs
