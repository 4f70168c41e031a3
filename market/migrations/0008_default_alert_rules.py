"""The default alert rules. Operators change them with web3.monitor.upsertRule (by name)."""

from django.db import migrations

from market import monitor_defaults
from market.monitor_defaults import DEFAULT_RULES


def install(apps, schema_editor):
    monitor_defaults.install(apps.get_model("market", "AlertRule"))


def remove(apps, schema_editor):
    AlertRule = apps.get_model("market", "AlertRule")
    AlertRule.objects.filter(name__in=[r[0] for r in DEFAULT_RULES], alerts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("market", "0007_monitor")]
    operations = [migrations.RunPython(install, remove)]
