"""The default alert rules. Operators change them with web3.monitor.upsertRule (by name)."""

from decimal import Decimal

from django.db import migrations

from market.monitor_defaults import DEFAULT_RULES



def install(apps, schema_editor):
    AlertRule = apps.get_model("market", "AlertRule")
    for name, severity, metric, threshold, window_sec, for_sec, description in DEFAULT_RULES:
        AlertRule.objects.get_or_create(name=name, defaults={
            "severity": severity, "metric": metric, "comparator": "gt", "threshold": Decimal(threshold),
            "window_sec": window_sec, "for_sec": for_sec, "description": description, "enabled": True,
        })


def remove(apps, schema_editor):
    AlertRule = apps.get_model("market", "AlertRule")
    AlertRule.objects.filter(name__in=[r[0] for r in DEFAULT_RULES], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("market", "0007_monitor")]
    operations = [migrations.RunPython(install, remove)]
