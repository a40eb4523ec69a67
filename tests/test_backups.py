"""factcheck/backups.py (`make backup`, `make restore`): a backup restores every row and every rule.

The round trip runs the functions the management commands call, with real pg_dump and pg_restore, from the
test database into a scratch database on the same server.
"""

from __future__ import annotations

import re
import stat
from io import StringIO
from uuid import uuid4

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo

from claims.services import EvidenceItem, publish_verdict, record_verdict, save_draft
from factcheck.backups import backup_database, restore_database
from tests.factories import get_status, make_claim, make_rated_claim, make_source, make_user

# Each row of each table as text, in a stable order, hashed: equal hashes mean equal contents.
TABLE_CONTENTS = """
SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t
"""
RULES = {
    "tables": """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1""",
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default, generation_expression
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, condeferrable, condeferred, convalidated,
               pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = 'public' ORDER BY 1, 2""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
    "sequences": "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
}


def _conninfo(dbname: str) -> str:
    params = connection.settings_dict
    fields = {"dbname": dbname, "user": params["USER"], "password": params["PASSWORD"]}
    fields.update(host=params["HOST"] or params["OPTIONS"].get("host"), port=str(params["PORT"] or ""))
    return make_conninfo(**{key: value for key, value in fields.items() if value})


def _same_meaning(definition: str) -> str:
    """A constraint's definition without casts and parentheses.

    PostgreSQL prints a check made by Django's `IN` (`kind::text = ANY (ARRAY['fact'::varchar::text, ...])`)
    as `kind::text = ANY ((ARRAY['fact'::varchar, ...])::text[])` once it has been dumped and restored:
    the same rule in other words. Names, columns, operators and values are still compared.
    """
    return re.sub(r"::[a-z]+(?: [a-z]+)*(?:\[\])?|[()]", "", definition)


def _snapshot(dbname: str) -> tuple[dict[str, tuple[int, str]], dict[str, list[tuple]]]:
    """(each table's row count and contents hash, each kind of rule from pg_catalog) of a database."""
    with psycopg.connect(_conninfo(dbname)) as conn:
        rules = {kind: conn.execute(query).fetchall() for kind, query in RULES.items()}
        rules["constraints"] = [(*row[:-1], _same_meaning(row[-1])) for row in rules["constraints"]]
        contents = {
            table: conn.execute(sql.SQL(TABLE_CONTENTS).format(sql.Identifier(table))).fetchone()
            for (table,) in rules["tables"]
        }
    return contents, rules


@pytest.fixture
def scratch_database():
    """An empty database on the test server, dropped afterwards."""
    name = f"factcheck_restore_{uuid4().hex[:12]}"
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_backup_restores_every_row_and_every_rule(statuses, scratch_database, tmp_path):
    editor = make_user(editor=True)
    corrected = make_rated_claim(
        status=get_status("true"), evidence=[EvidenceItem(source=make_source(), note="The transcript.")]
    )
    correction = record_verdict(
        claim=corrected,
        status=get_status("false"),
        summary="Corrected on review.",
        publish=False,
        by=editor,
        correction_note="The transcript was misread.",
    )
    publish_verdict(verdict=correction, by=make_user(reviewer=True))
    make_rated_claim(status=get_status("mostly-true"))
    draft = record_verdict(
        claim=make_claim(), status=get_status("misleading"), summary="First go.", publish=False
    )
    save_draft(verdict=draft, status=get_status("mostly-false"), summary="Second go.")
    source = connection.settings_dict
    target = {**source, "NAME": scratch_database}

    path, _ = backup_database(source, tmp_path)
    restore_database(target, path)

    before_contents, before_rules = _snapshot(source["NAME"])
    after_contents, after_rules = _snapshot(scratch_database)
    assert after_contents == before_contents
    assert after_rules == before_rules
    # The comparison covers what matters: the rows written above and the database's own rules.
    assert before_contents["claims_verdict"][0] == 4
    assert before_contents["claims_change"][0] == 3
    assert before_contents["claims_evidence"][0] == 1
    triggers = {name for _table, name, *_ in before_rules["triggers"]}
    assert {"claims_change_in_order", "claims_verdict_published_is_recorded"} <= triggers
    assert path.name.startswith("factcheck-") and path.suffix == ".dump"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # every password hash and session is in it
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left behind

    # The rules hold in the restored database: the feed still runs forward, a published verdict is fixed.
    with psycopg.connect(_conninfo(scratch_database)) as conn:
        with pytest.raises(errors.IntegrityConstraintViolation, match="runs forward in time"):
            conn.execute(
                "INSERT INTO claims_change (claim_id, from_status_id, to_status_id, verdict_id, published_at)"
                " SELECT claim_id, from_status_id, to_status_id, verdict_id, published_at - interval '1 day'"
                " FROM claims_change ORDER BY id LIMIT 1"
            )
        conn.rollback()
        with pytest.raises(errors.IntegrityConstraintViolation, match="published verdict cannot be changed"):
            conn.execute("UPDATE claims_verdict SET summary = 'Rewritten.' WHERE published_at IS NOT NULL")
        conn.rollback()
        # A row added after the backup ...
        conn.execute("UPDATE claims_speaker SET name = 'Renamed since' WHERE id = %s", [corrected.speaker_id])
        conn.commit()

    # ... is replaced by the backup's when it is restored over the database again.
    restore_database(target, path)
    assert _snapshot(scratch_database) == (before_contents, before_rules)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_restore_leaves_the_database_as_it_was(statuses, scratch_database, tmp_path):
    make_rated_claim()
    path, _ = backup_database(connection.settings_dict, tmp_path)
    target = {**connection.settings_dict, "NAME": scratch_database}
    restore_database(target, path)
    with psycopg.connect(_conninfo(scratch_database)) as conn:
        # A table the backup does not hold that depends on one it does: dropping claims_claim must fail.
        conn.execute("CREATE VIEW claims_kept AS SELECT id FROM claims_claim")
    before = _snapshot(scratch_database)

    with pytest.raises(CommandError, match="the database is as it was"):
        restore_database(target, path)

    assert _snapshot(scratch_database) == before


def test_restore_asks_before_it_replaces_anything(tmp_path, monkeypatch):
    backup = tmp_path / "factcheck-20260101-000000.dump"
    backup.write_bytes(b"not read: the command stops before pg_restore")
    monkeypatch.setattr("sys.stdin", StringIO(""))  # not a terminal, as in cron or CI

    with pytest.raises(CommandError, match="--noinput"):
        call_command("restore", str(backup))
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", str(tmp_path / "missing.dump"), "--noinput")


def test_a_file_that_is_not_a_backup_is_refused_with_pg_restores_reason(tmp_path, scratch_database):
    not_a_backup = tmp_path / "notes.dump"
    not_a_backup.write_text("hello")

    with pytest.raises(CommandError, match="does not appear to be a valid archive"):
        restore_database({**connection.settings_dict, "NAME": scratch_database}, not_a_backup)


def test_a_failed_backup_says_why_and_leaves_no_file(tmp_path):
    missing = {**connection.settings_dict, "NAME": f"factcheck_missing_{uuid4().hex[:12]}"}

    with pytest.raises(CommandError, match=rf'database "{missing["NAME"]}" does not exist'):
        backup_database(missing, tmp_path)

    assert list(tmp_path.iterdir()) == []
