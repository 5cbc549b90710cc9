from django.db import migrations, models

# Before the field, a language could only be set as the STT's option (provider_options["stt"]["language"], e.g.
# "de"): such an agent gets it as its language (its region's tag), so its voice and replies follow too. A fixed
# copy of the table's primary tags: a migration must not change when calls.languages grows.
_TAGS = {
    "en": "en-US", "es": "es-ES", "fr": "fr-FR", "de": "de-DE", "it": "it-IT", "pt": "pt-BR", "nl": "nl-NL",
    "pl": "pl-PL", "sv": "sv-SE", "da": "da-DK", "nb": "nb-NO", "no": "nb-NO", "fi": "fi-FI", "tr": "tr-TR",
    "ru": "ru-RU", "uk": "uk-UA", "hi": "hi-IN", "ja": "ja-JP", "ko": "ko-KR", "zh": "zh-CN",
}
_EXACT = {"en-us": "en-US", "en-gb": "en-GB", "en-au": "en-AU", "en-in": "en-IN", "es-419": "es-MX",
          "es-mx": "es-MX", "fr-ca": "fr-CA", "pt-br": "pt-BR", "pt-pt": "pt-PT"}


def language_from_stt_option(apps, schema_editor):
    Agent = apps.get_model("calls", "Agent")
    for agent in Agent.objects.exclude(provider_options={}).only("pk", "provider_options"):
        stt = (agent.provider_options or {}).get("stt")
        tag = str(stt.get("language") or "") if isinstance(stt, dict) else ""
        language = _EXACT.get(tag.lower()) or _TAGS.get(tag.lower().replace("_", "-").split("-")[0])
        if language:
            Agent.objects.filter(pk=agent.pk).update(language=language)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0014_smart_turn_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="agent",
            name="language",
            field=models.CharField(default="en-US", max_length=16,
                                   help_text="The language callers speak with this agent (BCP-47, e.g. es-ES)."),
        ),
        migrations.RunPython(language_from_stt_option, migrations.RunPython.noop),
    ]
