"""Append-only transfers and audit events, per vendor, plus the one-row maintenance flag.

UPDATE is always refused; DELETE only while market_maintenance.allow_delete is true (test teardown
and documented retention tooling). PostgreSQL's TRUNCATE fires no row triggers.
"""

from django.db import migrations

PROTECTED = ("market_transfer", "market_auditevent")


def forwards(apps, schema_editor):
    conn = schema_editor.connection

    def run(sql):
        # params=None: the SQL is sent as is (PL/pgSQL's RAISE uses % placeholders of its own).
        schema_editor.execute(sql, params=None)

    run("CREATE TABLE market_maintenance (id smallint PRIMARY KEY CHECK (id = 1), "
        "allow_delete boolean NOT NULL DEFAULT false)")
    run("INSERT INTO market_maintenance (id, allow_delete) VALUES (1, false)")
    if conn.vendor == "postgresql":
        run("""
            CREATE FUNCTION market_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND EXISTS (
                    SELECT 1 FROM market_maintenance WHERE id = 1 AND allow_delete
                ) THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END
            $$ LANGUAGE plpgsql
        """)
        for table in PROTECTED:
            run(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION market_append_only()")
    elif conn.vendor == "sqlite":
        for table in PROTECTED:
            run(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: UPDATE refused'); END")
            run(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"WHEN NOT EXISTS (SELECT 1 FROM market_maintenance WHERE id = 1 AND allow_delete) "
                f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: DELETE refused'); END")
    else:
        raise RuntimeError(f"append-only triggers are not written for {conn.vendor}")


def backwards(apps, schema_editor):
    conn = schema_editor.connection
    run = schema_editor.execute
    for table in PROTECTED:
        if conn.vendor == "postgresql":
            run(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            run(f"DROP TRIGGER IF EXISTS {table}_no_update")
            run(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if conn.vendor == "postgresql":
        run("DROP FUNCTION IF EXISTS market_append_only()")
    run("DROP TABLE market_maintenance")


class Migration(migrations.Migration):
    dependencies = [("market", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
