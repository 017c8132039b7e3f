"""Make the audit table append-only in the database itself, not only in the ORM.

PostgreSQL: a row trigger rejects every UPDATE and DELETE of ``governance_auditevent``, whoever
issues it (raw SQL, ``QuerySet.update()``/``.delete()``, a psql session).

SQLite (development, demo and the default test run): a trigger rejects UPDATE. DELETE is *not*
blocked on SQLite, because Django flushes tables with ``DELETE FROM`` there (``manage.py flush``,
``seed_demo``, and pytest-django between transactional tests) and a DELETE trigger would break all
of them. Note that Django *rebuilds* a SQLite table for some later schema changes, which drops its
triggers; ``tests/governance/test_audit.py`` fails if that ever happens.

One UPDATE stays allowed on both: setting ``actor_id`` from a user to NULL with every other column
unchanged. That is the ``on_delete=SET_NULL`` of the actor foreign key when a user is deleted;
``actor_label`` keeps the name, ``governance.receivers`` records the deletion, and ``verify_audit``
uses that record to verify the row's hash (which covers the original ``actor_id``).

TRUNCATE is deliberately *not* blocked, on PostgreSQL either: Django flushes PostgreSQL test
databases with TRUNCATE, so a TRUNCATE trigger would break every transactional test (live server,
Celery worker). Trade-off: TRUNCATE, ``ALTER TABLE ... DISABLE TRIGGER`` and ``DROP TRIGGER`` need
table ownership (or the TRUNCATE privilege), so production runs the application with a role that
does not own the tables and cannot do any of the three (docs/deployment.md, "Audit trail"). Any
edit made while the trigger is off still breaks the hash chain, which ``manage.py verify_audit``
reports, together with a disabled or missing trigger.
"""

from django.db import migrations

TABLE = "governance_auditevent"

POSTGRESQL_FORWARD = [
    f"""
    CREATE OR REPLACE FUNCTION governance_auditevent_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- ON DELETE SET NULL of the actor: only actor_id changes, and only to NULL.
        IF TG_OP = 'UPDATE'
           AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit events are append-only: % on {TABLE} is not allowed', TG_OP
            USING HINT = 'Record a new audit event instead.';
    END;
    $$;
    """,
    f"""
    CREATE TRIGGER governance_auditevent_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION governance_auditevent_append_only();
    """,
]
POSTGRESQL_REVERSE = [
    f"DROP TRIGGER IF EXISTS governance_auditevent_append_only ON {TABLE};",
    "DROP FUNCTION IF EXISTS governance_auditevent_append_only();",
]

# SQLite has no to_jsonb(NEW): the columns are listed (IS is SQLite's null-safe equality).
_UNCHANGED = " AND ".join(
    f"NEW.{column} IS OLD.{column}"
    for column in (
        "id",
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
        "request_id",
        "prev_hash",
        "hash",
    )
)
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER governance_auditevent_no_update
    BEFORE UPDATE ON {TABLE}
    WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL AND {_UNCHANGED})
    BEGIN
        SELECT RAISE(ABORT, 'audit events are append-only: UPDATE on {TABLE} is not allowed');
    END;
    """,
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS governance_auditevent_no_update;"]

STATEMENTS = {
    "postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_REVERSE),
    "sqlite": (SQLITE_FORWARD, SQLITE_REVERSE),
}


def _run(schema_editor, direction):
    forward, reverse = STATEMENTS.get(schema_editor.connection.vendor, ([], []))
    for statement in forward if direction == "forward" else reverse:
        # params=None: the PL/pgSQL "%" is not a query placeholder.
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor):
    _run(schema_editor, "forward")


def uninstall(apps, schema_editor):
    _run(schema_editor, "reverse")


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_role_family_access")]

    operations = [migrations.RunPython(install, uninstall)]
