from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0010_ops_server_instances"),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="is_test",
            field=models.BooleanField(default=False),
        ),
    ]
