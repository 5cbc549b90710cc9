# Turn.audio_start_ms / audio_end_ms: each turn's place in the call recording (playback follows the transcript).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("calls", "0002_call_lifecycle_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="turn",
            name="audio_start_ms",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="turn",
            name="audio_end_ms",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
