from django.db import migrations, models


class Migration(migrations.Migration):
    """Piper is the embedded default voice for new agents; agents get a custom vocabulary for recognition."""

    dependencies = [
        ("calls", "0005_callevent_kinds"),
    ]

    operations = [
        migrations.AlterField(
            model_name="agent",
            name="tts_provider",
            field=models.CharField(default="piper", max_length=40),
        ),
        migrations.AlterField(
            model_name="agent",
            name="voice",
            field=models.CharField(default="en_US-joe-medium", max_length=80),
        ),
        migrations.AddField(
            model_name="agent",
            name="custom_vocabulary",
            field=models.TextField(blank=True, default="", help_text="Names and terms callers will say, one per line: they are given to speech recognition as hints."),
        ),
    ]
