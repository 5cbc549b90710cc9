"""The call engine's data: who answers (Agent, PhoneNumber), what happened (Call, Turn, TurnMetrics, CallEvent).

Every row belongs to a Workspace from day one, so tenants are isolated by a foreign key, not by convention.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from .agent_config import validate_agent
from .languages import DEFAULT_LANGUAGE


class Workspace(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="workspaces")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Carrier(models.TextChoices):
    TWILIO = "twilio", "Twilio"
    TELNYX = "telnyx", "Telnyx"
    BROWSER = "browser", "Browser"


class Agent(models.Model):
    """An AI voice agent: what it says, how it listens and which providers it uses."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=120)
    greeting = models.TextField(blank=True, default="")
    flow = models.JSONField(default=dict, blank=True, help_text="Flow engine definition (state machine).")
    # Provider choice per capability; options are provider-specific (model, language, endpointing, ...).
    stt_provider = models.CharField(max_length=40, default="whisper")
    llm_provider = models.CharField(max_length=40, default="flow")
    tts_provider = models.CharField(max_length=40, default="piper")
    provider_options = models.JSONField(default=dict, blank=True, help_text="Rare, provider-specific extras.")
    # The prompt-first agent (the "openai" brain; see calls/agent_config.py for the shapes and their validation).
    # Templates take {{variables}}: built-ins (calls.templating) and those declared in `variable_defaults`.
    system_prompt = models.TextField(blank=True, default="")
    variable_defaults = models.JSONField(default=dict, blank=True, help_text="Per-call variables and defaults.")
    llm_model = models.CharField(max_length=100, blank=True, default="gpt-4o-mini")
    llm_base_url = models.URLField(blank=True, default="", help_text="An OpenAI-compatible server; empty: settings.")
    llm_temperature = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(2)])
    tools = models.JSONField(default=list, blank=True, help_text="HTTP tools the model may call.")
    end_call_enabled = models.BooleanField(default=True, help_text="The model may hang up (end_call).")
    transfer_targets = models.JSONField(default=dict, blank=True, help_text="label: number; empty: no transfer.")
    analysis_schema = models.JSONField(default=list, blank=True, help_text="Fields filled after each call.")
    summary_prompt = models.TextField(blank=True, default="")
    success_criterion = models.TextField(blank=True, default="")
    # Asked (signed, ~1.5 s) when a call starts, for this call's variables or overrides (calls/call_start.py).
    call_start_webhook_url = models.URLField(blank=True, default="")
    call_start_webhook_secret = models.CharField(max_length=128, blank=True, default="")
    voice = models.CharField(max_length=80, default="en_US-joe-medium")
    # What the agent speaks and expects (BCP-47); every provider is told, in its own code (calls.languages).
    # Checked against that table in Agent.clean, not by `choices`, so a new language needs no migration.
    language = models.CharField(max_length=16, default=DEFAULT_LANGUAGE,
                                help_text="The language callers speak with this agent (BCP-47, e.g. es-ES).")
    # Words the recogniser should expect (names, products, jargon), one per line or comma-separated; added to the
    # hints the call builds itself (calls.providers.stt.vocabulary).
    custom_vocabulary = models.TextField(blank=True, default="", help_text="Names and terms callers will say, "
                                         "one per line: they are given to speech recognition as hints.")
    barge_in_enabled = models.BooleanField(default=True)
    barge_in_min_ms = models.PositiveIntegerField(default=200, help_text="Caller speech needed to interrupt.")
    end_of_turn_silence_ms = models.PositiveIntegerField(default=300)
    # How the end of the caller's turn is decided (calls.session.turn_taking / calls.session.smart_turn).
    # The silence rule by default again: Smart Turn measured better on the turn-taking bench, but as the default it
    # broke 14 tests of the full suite (late answers to short test utterances) that were not run before merging;
    # agents choose "smart-turn" per agent (issue 13 note).
    end_of_turn = models.CharField(
        max_length=32, default="silence+provider",
        choices=[
            ("smart-turn", "Smart Turn model (waits longer for unfinished sentences)"),
            ("silence+provider", "Silence, or sooner on the STT's endpointing"),
            ("silence", "Silence only"),
            ("provider", "The STT provider's endpointing (e.g. Deepgram)"),
        ],
    )
    end_of_turn_max_silence_ms = models.PositiveIntegerField(
        default=1200, help_text="Smart Turn: the longest wait for a caller who stopped mid-sentence. Provider "
        "endpointing: the silence that ends the turn when the provider says nothing.")
    smart_turn_silence_ms = models.PositiveIntegerField(
        default=60, help_text="Smart Turn: the silence after which the model is asked whether the caller is done.")
    silence_timeout_s = models.FloatField(default=8.0)
    max_reprompts = models.PositiveIntegerField(default=2)
    max_duration_s = models.PositiveIntegerField(default=600)
    # Bumped whenever the flow changes; each call records the version it ran.
    flow_version = models.PositiveIntegerField(default=1)
    # Recording of both sides, kept `retention_days` (None: keep); transcripts redacted of PII when asked.
    record_audio = models.BooleanField(default=False)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    redact_pii = models.BooleanField(default=False)
    # Call-completed events POSTed to the customer's URL, HMAC-signed with the secret.
    post_call_webhook_url = models.URLField(blank=True, default="")
    post_call_webhook_secret = models.CharField(max_length=128, blank=True, default="")
    # Outbound calls: what to do when an answering machine picks up.
    machine_detection = models.CharField(
        max_length=16, default="off", choices=[("off", "Off"), ("hangup", "Hang up"), ("message", "Leave a message")]
    )
    voicemail_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        unique_together = [("workspace", "name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        validate_agent(self)

    def save(self, *args, **kwargs) -> None:
        """Bump `flow_version` whenever the stored flow changes, so every call can say which flow it ran.
        (Queryset `.update(flow=...)` bypasses this; edit flows through the model.)"""
        update_fields = kwargs.get("update_fields")
        if self.pk is not None and (update_fields is None or "flow" in update_fields):
            stored = type(self).objects.filter(pk=self.pk).values_list("flow", "flow_version").first()
            if stored is not None and stored[0] != self.flow:
                self.flow_version = max(self.flow_version, stored[1]) + 1
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "flow_version"}
        super().save(*args, **kwargs)


class PhoneNumber(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="numbers")
    e164 = models.CharField(max_length=20)
    carrier = models.CharField(max_length=12, choices=Carrier.choices)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="numbers")

    class Meta:
        # One number can be routed through both carriers (e.g. during a migration), once each.
        unique_together = [("e164", "carrier")]

    def __str__(self) -> str:
        return f"{self.e164} ({self.carrier})"


class Call(models.Model):
    class Status(models.TextChoices):
        RINGING = "ringing"
        IN_PROGRESS = "in-progress"
        COMPLETED = "completed"
        FAILED = "failed"
        REJECTED = "rejected"

    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND = "outbound"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="calls")
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, related_name="calls")
    carrier = models.CharField(max_length=12, choices=Carrier.choices)
    carrier_call_id = models.CharField(max_length=128, db_index=True)
    stream_id = models.CharField(max_length=128, blank=True, default="")
    from_number = models.CharField(max_length=40, blank=True, default="")
    to_number = models.CharField(max_length=40, blank=True, default="")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RINGING)
    end_reason = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Single-use stream token: the nonce of the one token that may still open this call's media stream.
    stream_nonce = models.CharField(max_length=64, blank=True, default="")
    brain_state = models.JSONField(default=dict, blank=True)
    flow_version = models.PositiveIntegerField(null=True, blank=True)
    answered_by = models.CharField(max_length=16, blank=True, default="")  # human | machine | unknown (AMD)
    summary = models.TextField(blank=True, default="")
    recording = models.CharField(max_length=255, blank=True, default="", help_text="Path under MEDIA_ROOT.")
    variables = models.JSONField(default=dict, blank=True, help_text="Per-call variables (outbound/campaign).")
    # A call placed by an agent test suite (suites): kept out of analytics by default.
    is_test = models.BooleanField(default=False)
    # After the call (automation/analysis.py): {fields: {...}, summary, success: bool|None, error?}.
    analysis = models.JSONField(default=dict, blank=True)
    # What the call used per provider, and what that cost (calls/costs.py): {total, currency, lines: [...]}.
    usage = models.JSONField(default=dict, blank=True)
    cost = models.JSONField(default=dict, blank=True)
    # The server process (ServerInstance.id) holding the call's media stream; a call whose process stopped
    # heartbeating is closed as "server-lost" (calls/instances.py).
    served_by = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        unique_together = [("carrier", "carrier_call_id")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.carrier}:{self.carrier_call_id}"

    @property
    def duration_s(self) -> float | None:
        if self.answered_at and self.ended_at:
            return (self.ended_at - self.answered_at).total_seconds()
        return None


class Turn(models.Model):
    class Role(models.TextChoices):
        AGENT = "agent"
        CALLER = "caller"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    role = models.CharField(max_length=8, choices=Role.choices)
    text = models.TextField(blank=True, default="")
    # For agent turns: the part the caller actually heard (confirmed by carrier marks) — shorter when interrupted.
    heard_text = models.TextField(blank=True, default="")
    interrupted = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    node = models.CharField(max_length=80, blank=True, default="")
    # Where the turn is in Call.recording (ms from its start), so playback can follow the transcript.
    audio_start_ms = models.PositiveIntegerField(null=True, blank=True)
    audio_end_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        unique_together = [("call", "index")]
        ordering = ["call", "index"]


class TurnMetrics(models.Model):
    """Per-turn latency breakdown in milliseconds, measured from the caller's end of speech."""

    turn = models.OneToOneField(Turn, on_delete=models.CASCADE, related_name="metrics")
    endpoint_ms = models.FloatField(null=True, help_text="Last voiced frame → end-of-turn decision.")
    stt_final_ms = models.FloatField(null=True, help_text="Last voiced frame → final transcript.")
    brain_first_text_ms = models.FloatField(null=True)
    tts_first_audio_ms = models.FloatField(null=True)
    first_frame_sent_ms = models.FloatField(null=True)
    end_to_end_ms = models.FloatField(null=True, help_text="Last voiced frame → first reply frame sent.")
    stt_ms = models.FloatField(null=True, help_text="STT work for the final transcript.")
    brain_ms = models.FloatField(null=True, help_text="Brain request → first text.")
    tts_ms = models.FloatField(null=True, help_text="TTS request → first audio.")
    providers = models.JSONField(default=dict, blank=True, help_text="Per-provider time to first byte.")


class CallEvent(models.Model):
    class Kind(models.TextChoices):
        ERROR = "error"
        PROVIDER_FAILURE = "provider_failure"
        REPROMPT = "reprompt"
        BARGE_IN = "barge_in"
        BACKCHANNEL = "backchannel"  # caller speech over the agent that was no turn ("uh-huh", a cough it paused for)
        ACTION_FAILED = "action_failed"  # an announced transfer / hang-up / tool failed; the caller was told
        UNANSWERED = "unanswered"  # a caller utterance long enough to be speech got no reply, and why
        DTMF = "dtmf"
        BAD_INPUT = "bad_input"
        TRANSFER = "transfer"
        HANGUP = "hangup"
        OVERFLOW = "overflow"
        SERVER_LOST = "server_lost"  # the process serving the call died; closed by the reconciler
        SHUTDOWN = "shutdown"  # the process was stopped (SIGTERM) while the call was live: drained, then goodbye
        NO_MEDIA = "no_media"  # answered (webhook) but its media stream never started; closed by the reconciler
        INFO = "info"
        TOOL_CALL = "tool_call"  # the brain called a tool: {name, arguments}
        CALL_START_WEBHOOK = "call_start_webhook"  # the call-starting request: what it returned, or why it failed
        ANALYSIS = "analysis"  # the post-call analysis could not use the LLM (and what it fell back to)
        REALTIME_FALLBACK = "realtime_fallback"  # a speech-to-speech call went on on the cascaded providers, and why
        USAGE = "usage"  # tokens a provider billed for the call (the realtime model's audio and text tokens)

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events", null=True)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]


class ServerInstance(models.Model):
    """A web process that serves calls, alive while its heartbeat is fresh (calls/instances.py)."""

    id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)  # a clean exit (after its drain)

    def __str__(self) -> str:
        return self.id
