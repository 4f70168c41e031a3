"""Bind each SIWE nonce to the sha256 of the exact message issued with it.

Nonces issued before this have no stored message, so nothing could ever sign in with them: they
are dropped (they live five minutes; a wallet that held one asks for a new challenge). Going back
removes the column and keeps the nonces issued since."""

from django.db import migrations, models


def drop_nonces_without_message(apps, schema_editor):
    apps.get_model("web3api", "SiweNonce").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("web3api", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(drop_nonces_without_message, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name="siwenonce",
            name="message_sha256",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="siwenonce",
            constraint=models.CheckConstraint(
                condition=models.Q(("message_sha256__regex", "^[0-9a-f]{64}$")),
                name="web3api_siwenonce_message_sha256",
            ),
        ),
    ]
