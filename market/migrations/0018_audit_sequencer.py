"""Audit sequencing off the money path: an event is written as a leaf with its content hash and no
position (seq, prev_hash and hash NULL), and the sequencer sets those three once.

The append-only trigger of market_auditevent is replaced (same names as migration 0002's, per
vendor): it still refuses every UPDATE and, unless the maintenance flag is set, every DELETE, with one
exception: the sequencing UPDATE, which sets seq, prev_hash and hash from NULL to values and leaves
every other column as it was. Events written before this migration keep their positions and get
their content hash. Also installs the `audit-unsequenced` alert rule (a frozen copy).
"""

from datetime import UTC
from decimal import Decimal

from django.db import migrations, models

from market.canonical import canonical_sha256

POSITION = ("seq", "prev_hash", "hash")
REFUSAL = "append-only table market_auditevent: UPDATE refused"

RULE = (
    "audit-unsequenced",
    "P0",
    "audit_unsequenced_age_seconds",
    "60",
    300,
    0,
    "An audit event has waited more than 60 seconds for its position in the log (the sequencer is stuck).",
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION market_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
       AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
       AND (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash') = (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM market_maintenance WHERE id = 1 AND allow_delete) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql
"""


def _run(schema_editor, statement):
    schema_editor.execute(statement, params=None)


def _drop_triggers(schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _run(schema_editor, "DROP TRIGGER IF EXISTS market_auditevent_append_only ON market_auditevent")
    else:
        _run(schema_editor, "DROP TRIGGER IF EXISTS market_auditevent_no_update")
        _run(schema_editor, "DROP TRIGGER IF EXISTS market_auditevent_no_delete")


def drop_triggers(apps, schema_editor):
    _drop_triggers(schema_editor)


def backfill_content_hash(apps, schema_editor):
    AuditEvent = apps.get_model("market", "AuditEvent")
    rows = AuditEvent.objects.filter(content_hash="").values_list(
        "pk", "event_id", "actor_id", "action", "object_type", "object_id", "payload_sha256", "created_at"
    )
    batch = []
    for pk, event_id, actor_id, action, object_type, object_id, payload_sha256, created_at in rows.iterator():
        body = {
            "eventId": event_id,
            "actorId": actor_id,
            "action": action,
            "objectType": object_type,
            "objectId": object_id,
            "payloadSha256": payload_sha256,
            "createdAt": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        batch.append((canonical_sha256(body), pk))
    with schema_editor.connection.cursor() as cursor:
        for start in range(0, len(batch), 1000):
            cursor.executemany("UPDATE market_auditevent SET content_hash = %s WHERE id = %s", batch[start : start + 1000])


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, PG_FUNCTION)
        _run(
            schema_editor,
            "CREATE TRIGGER market_auditevent_append_only BEFORE UPDATE OR DELETE ON market_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION market_audit_append_only()",
        )
        return
    if vendor != "sqlite":
        raise RuntimeError(f"append-only triggers are not written for {vendor}")
    AuditEvent = apps.get_model("market", "AuditEvent")
    kept = [f.column for f in AuditEvent._meta.concrete_fields if f.column not in POSITION]
    sequencing = " AND ".join(
        [*(f"OLD.{c} IS NULL" for c in POSITION), *(f"NEW.{c} IS NOT NULL" for c in POSITION)]
        + [f'NEW."{c}" IS OLD."{c}"' for c in kept]
    )
    _run(
        schema_editor,
        f"CREATE TRIGGER market_auditevent_no_update BEFORE UPDATE ON market_auditevent WHEN NOT ({sequencing}) "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
    )
    _run(
        schema_editor,
        "CREATE TRIGGER market_auditevent_no_delete BEFORE DELETE ON market_auditevent "
        "WHEN NOT EXISTS (SELECT 1 FROM market_maintenance WHERE id = 1 AND allow_delete) "
        "BEGIN SELECT RAISE(ABORT, 'append-only table market_auditevent: DELETE refused'); END",
    )


def restore_triggers(apps, schema_editor):
    """Backwards: migration 0002's triggers (every UPDATE refused)."""
    _drop_triggers(schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        _run(
            schema_editor,
            "CREATE TRIGGER market_auditevent_append_only BEFORE UPDATE OR DELETE ON market_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION market_append_only()",
        )
        _run(schema_editor, "DROP FUNCTION IF EXISTS market_audit_append_only()")
        return
    _run(
        schema_editor,
        f"CREATE TRIGGER market_auditevent_no_update BEFORE UPDATE ON market_auditevent "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END",
    )
    _run(
        schema_editor,
        "CREATE TRIGGER market_auditevent_no_delete BEFORE DELETE ON market_auditevent "
        "WHEN NOT EXISTS (SELECT 1 FROM market_maintenance WHERE id = 1 AND allow_delete) "
        "BEGIN SELECT RAISE(ABORT, 'append-only table market_auditevent: DELETE refused'); END",
    )


def install_rule(apps, schema_editor):
    AlertRule = apps.get_model("market", "AlertRule")
    name, severity, metric, threshold, window_sec, for_sec, description = RULE
    AlertRule.objects.get_or_create(
        name=name,
        defaults={
            "severity": severity,
            "metric": metric,
            "comparator": "gt",
            "threshold": Decimal(threshold),
            "window_sec": window_sec,
            "for_sec": for_sec,
            "description": description,
            "enabled": True,
        },
    )


def remove_rule(apps, schema_editor):
    AlertRule = apps.get_model("market", "AlertRule")
    AlertRule.objects.filter(name=RULE[0], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("market", "0017_session_brain")]

    operations = [
        migrations.RunPython(drop_triggers, restore_triggers),
        migrations.AddField(
            model_name="auditevent",
            name="content_hash",
            field=models.CharField(default="", help_text="sha256 of the leaf without its position.", max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(backfill_content_hash, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"], name="market_auditevent_unsequenced"),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("hash__isnull", True), ("prev_hash__isnull", True), ("seq__isnull", True)),
                    models.Q(("hash__isnull", False), ("prev_hash__isnull", False), ("seq__isnull", False)),
                    _connector="OR",
                ),
                name="market_auditevent_position",
            ),
        ),
        migrations.RunPython(create_triggers, restore_triggers),
        migrations.RunPython(install_rule, remove_rule),
    ]
