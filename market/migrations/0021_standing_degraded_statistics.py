from django.db import migrations

STATISTICS = "market_standing_degraded_span"


def span_statistics(apps, schema_editor):
    """Joint statistics of a standing's degraded span on PostgreSQL. Both ends are set together (or
    both null) and the health filters compare each with the clock: estimated one column at a time, the
    planner multiplies their non-null fractions and expects a degraded page to be a handful of rows
    (2% x 2% at a million resources instead of 2%), so it collects every degraded resource and sorts
    them instead of walking the page order. The MCV list of the pair gives it the real share. ANALYZE
    now, so the estimate holds from the first query; SQLite has no planner statistics."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv) ON degraded_from, degraded_until"
            " FROM market_resourcestanding"
        )
        schema_editor.execute("ANALYZE market_resourcestanding")


def drop_span_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("market", "0020_signer_history"),
    ]

    operations = [
        migrations.RunPython(span_statistics, drop_span_statistics, elidable=True),
    ]
