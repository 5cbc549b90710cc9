from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0008_agents_prompt_first_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="is_test",
            field=models.BooleanField(default=False),
        ),
    ]
