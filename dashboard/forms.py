"""Dashboard forms. Validation lives here so a bad value is reported beside its field and nothing is saved."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from calls.flows.context import capabilities_for
from calls.flows.schema import FlowError, validate_flow
from calls.languages import DEFAULT_LANGUAGE, LANGUAGE_CHOICES
from calls.models import Agent, Call, Carrier, PhoneNumber, Workspace
from calls.providers import registry

from .models import Scope

# What an agent may choose: the providers the registry labels for people (not the benchmark's or tests').
STT_PROVIDERS = registry.choices("stt")
LLM_PROVIDERS = registry.choices("brain")
TTS_PROVIDERS = registry.choices("tts")
# provider_options sections (see calls.providers.chains): an options object per capability, the carrier stream
# format, the fallback policy, and the LLM's HTTP tools (a list).
PROVIDER_OPTION_SECTIONS = ("stt", "llm", "tts", "telephony", "fallback", "turn_taking")
PROVIDER_OPTION_LISTS = ("tools",)

MAX_PERIOD_DAYS = 366
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

STARTER_FLOW = {
    "start": "welcome",
    "nodes": {
        "welcome": {
            "type": "ask",
            "text": "How can I help you today?",
            "routes": [{"intent": "goodbye", "keywords": ["bye", "goodbye", "nothing"], "next": "goodbye"}],
            "reprompt": "You can ask me a question, or say goodbye.",
        },
        "goodbye": {"type": "end", "text": "Thanks for calling. Goodbye!"},
    },
}


class JSONObjectField(forms.CharField):
    """A textarea holding a JSON object. Parse errors name the line and column, which a JSON editor needs."""

    widget = forms.Textarea

    def prepare_value(self, value):
        if isinstance(value, (dict, list)):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return value

    kind, shape = dict, "a JSON object ({ ... })"

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return self.kind()
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc
        if not isinstance(parsed, self.kind):
            raise forms.ValidationError(f"Must be {self.shape}.")
        return parsed

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or self.kind())
        except forms.ValidationError:
            return True


class JSONListField(JSONObjectField):
    """A textarea holding a JSON list (tools, analysis fields)."""

    kind, shape = list, "a JSON list ([ ... ])"


def _code(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "spellcheck": "false", "class": "code", "data-json-editor": ""})


@lru_cache(maxsize=1)
def espeak_voice_choices() -> tuple[tuple[str, str], ...]:
    """(value, label) for every voice of the embedded engine; empty if the engine cannot load."""
    try:
        from calls.providers.tts.espeak_engine import get_espeak

        voices = get_espeak().list_voices()
    except Exception:  # the form still works without the list: the value is then checked when the agent speaks
        return ()
    choices = {}
    try:
        from calls.providers.tts.piper_engine import available_voices

        choices.update((name, f"Piper: {name}") for name in available_voices())
    except Exception:  # piper-tts missing: eSpeak voices only
        pass
    for voice in voices:
        if voice.languages:
            choices.setdefault(voice.languages[0], voice.name)
    return tuple(sorted(choices.items()))


def espeak_voice_error(voice: str) -> str | None:
    """Why the embedded engine cannot speak with `voice`, or None if it can."""
    try:
        from calls.providers.base import ProviderError
        from calls.providers.tts.espeak_engine import get_espeak

        engine = get_espeak()
    except Exception:
        return None  # engine unavailable here; do not block saving
    try:
        engine.synthesize("a", voice=voice)
    except ProviderError:
        return f"eSpeak has no voice {voice!r}. Pick one from the list (for example en-us or en-gb)."
    return None


def piper_voice_error(voice: str) -> str | None:
    """Why neither Piper nor its espeak fallback can speak with `voice`, or None if one can."""
    from calls.providers.base import ProviderError
    from calls.providers.tts.piper_local import piper_voice_name

    try:
        piper_voice_name(voice)
    except ProviderError:
        # A language Piper has no voice for is spoken by espeak: fine if espeak knows it.
        return espeak_voice_error(voice)
    return None


class AgentForm(forms.ModelForm):
    flow = JSONObjectField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "class": "code", "data-json-editor": ""}),
    )
    provider_options = JSONObjectField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code", "data-json-editor": ""}),
        help_text='Sections: "stt", "llm", "tts" (passed to that provider), "telephony", "fallback", "turn_taking" '
        '(e.g. {"interruption": "words", "words": {"min_words": 2}}; "voiced-time" interrupts on voice alone; '
        '{"smart-turn": {"threshold": 0.6, "reask_every_ms": 400}}), and "tools" (a list), e.g. '
        '{"stt": {"language": "en"}, "llm": {"model": "gpt-4o-mini"}}.',
    )
    variable_defaults = JSONObjectField(
        required=False, widget=_code(4), label="Variables",
        help_text='The {{variables}} this agent uses, with their defaults, e.g. {"customer_name": "there"}. A call '
        "fills them from the outbound request, the campaign CSV row or the call-starting webhook.")
    tools = JSONListField(
        required=False, widget=_code(8),
        help_text='HTTP tools, e.g. [{"name": "order_status", "description": "Where an order is", "parameters": '
        '{"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}, '
        '"url": "https://crm.example.com/orders", "method": "GET", "headers": {"Authorization": '
        '"Bearer {{secret:CRM_TOKEN}}"}}]. {{secret:NAME}} is the server\'s VOICEBOT_TOOL_SECRET_NAME; '
        '"secret" (optional) signs each request.')
    transfer_targets = JSONObjectField(
        required=False, widget=_code(3),
        help_text='Where the model may transfer a caller, e.g. {"sales": "+15550100"}. Empty: no transfer tool.')
    analysis_schema = JSONListField(
        required=False, widget=_code(8), label="Analysis fields",
        help_text='Filled after each call, e.g. [{"name": "interested", "type": "boolean", "description": '
        '"Did the caller want a demo?"}, {"name": "budget", "type": "enum", "choices": ["low", "high"]}]. '
        "Types: text, number, boolean, enum, date.")
    llm_base_url = forms.URLField(required=False, assume_scheme="https", label="Base URL (OpenAI-compatible server)",
                                  help_text="Empty: the server's OPENAI_BASE_URL (or OpenAI).")
    call_start_webhook_url = forms.URLField(
        required=False, assume_scheme="https", label="Call-starting webhook URL",
        help_text="Asked when a call starts for its variables (1.5 s at most; on failure the call goes on with the "
        "defaults).")
    stt_provider = forms.ChoiceField(choices=STT_PROVIDERS, label="Speech-to-text")
    llm_provider = forms.ChoiceField(choices=LLM_PROVIDERS, label="Brain")
    tts_provider = forms.ChoiceField(choices=TTS_PROVIDERS, label="Text-to-speech")
    language = forms.ChoiceField(
        choices=LANGUAGE_CHOICES, initial=DEFAULT_LANGUAGE, required=False,
        help_text="What callers speak: recognition, voice, sentence rules and the LLM's replies follow it. The "
        "embedded stack hears only English unless the server has a multilingual Whisper (see the README); Piper "
        "speaks English, espeak every language here.")

    class Meta:
        model = Agent
        fields = [
            "name", "greeting", "system_prompt", "variable_defaults", "llm_model", "llm_base_url", "llm_temperature",
            "tools", "end_call_enabled", "transfer_targets", "analysis_schema", "summary_prompt", "success_criterion",
            "call_start_webhook_url", "call_start_webhook_secret",
            "flow", "language", "stt_provider", "llm_provider", "tts_provider", "provider_options", "voice",
            "barge_in_enabled", "barge_in_min_ms", "end_of_turn", "end_of_turn_silence_ms",
            "end_of_turn_max_silence_ms", "smart_turn_silence_ms", "silence_timeout_s", "max_reprompts",
            "max_duration_s", "custom_vocabulary",
        ]  # fmt: skip
        labels = {
            "greeting": "First message",
            "llm_model": "Model",
            "llm_base_url": "Base URL (OpenAI-compatible server)",
            "llm_temperature": "Temperature",
            "end_call_enabled": "The agent may hang up (end_call)",
            "call_start_webhook_url": "Call-starting webhook URL",
            "call_start_webhook_secret": "Call-starting webhook signing secret",
            "barge_in_enabled": "Callers can interrupt (barge-in)",
            "barge_in_min_ms": "Barge-in: minimum caller speech (ms, voiced-time rule)",
            "end_of_turn": "End of the caller's turn",
            "end_of_turn_silence_ms": "End of turn after silence of (ms)",
            "end_of_turn_max_silence_ms": "Longest wait for an unfinished sentence (ms)",
            "smart_turn_silence_ms": "Smart Turn: ask the model after silence of (ms)",
            "silence_timeout_s": "Re-prompt after caller silence of (s)",
            "max_reprompts": "Re-prompts before hanging up",
            "max_duration_s": "Maximum call length (s)",
        }
        help_texts = {
            "greeting": "Spoken as soon as the call is answered. Takes {{variables}}.",
            "system_prompt": "Who the agent is, what it knows and how it behaves. Takes {{variables}}, e.g. "
            "{{customer_name}}, {{caller_number}}, {{date}}.",
            "summary_prompt": "How to summarise a call (empty: a short summary for the business).",
            "success_criterion": "When a call counts as a success, e.g. 'The caller booked an appointment.'",
            "call_start_webhook_url": "Asked when a call starts for its variables (1.5 s at most; on failure the "
            "call goes on with the defaults).",
            "voice": "Piper voice (en_US-joe-medium), eSpeak voice (en-us, en-gb, fr-fr, ...) or the provider's "
            "voice id for ElevenLabs.",
            "end_of_turn": "Silence ends a turn after the time below. Smart Turn asks a model after a short "
            "silence whether the caller sounds done: yes ends the turn at once, no waits up to the longest wait.",
        }
        widgets = {
            "greeting": forms.Textarea(attrs={"rows": 2}),
            "system_prompt": forms.Textarea(attrs={"rows": 14}),
            "summary_prompt": forms.Textarea(attrs={"rows": 2}),
            "success_criterion": forms.Textarea(attrs={"rows": 2}),
            "call_start_webhook_secret": forms.PasswordInput(render_value=True),
            "custom_vocabulary": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["voice"].widget.attrs["list"] = "espeak-voices"
        self.fields["silence_timeout_s"].min_value = 1.0
        self.fields["silence_timeout_s"].widget.attrs.update(min="1", step="0.5")
        bounds = {
            "barge_in_min_ms": (50, 5000),
            "end_of_turn_silence_ms": (100, 5000),
            "end_of_turn_max_silence_ms": (300, 10000),
            "smart_turn_silence_ms": (40, 1000),
            "max_reprompts": (0, 10),
            "max_duration_s": (10, 4 * 3600),
            "llm_temperature": (0, 2),
        }
        for name, (low, high) in bounds.items():
            field = self.fields[name]
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.widget.attrs.update(min=str(low), max=str(high))

    def clean_language(self):
        # Not sent (an older page, a script): the agent keeps its language.
        return self.cleaned_data.get("language") or self.instance.language or DEFAULT_LANGUAGE

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Agent.objects.filter(workspace=self.workspace, name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another agent in this workspace already has this name.")
        return name

    def clean_flow(self):
        flow = self.cleaned_data["flow"]
        if flow:
            try:
                validate_flow(flow)
            except FlowError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return flow

    def clean_provider_options(self):
        options = self.cleaned_data["provider_options"]
        known = PROVIDER_OPTION_SECTIONS + PROVIDER_OPTION_LISTS
        for key, value in options.items():
            if key not in known:
                raise forms.ValidationError(f"Unknown section {key!r}: use {', '.join(repr(s) for s in known)}.")
            if key in PROVIDER_OPTION_LISTS:
                self._check_tools(value)
            elif not isinstance(value, dict):
                raise forms.ValidationError(f"{key!r} must be an object (of {key} options).")
            elif key == "turn_taking":
                self._check_turn_taking(value)
        return options

    @staticmethod
    def _check_turn_taking(options: dict) -> None:
        from calls.session.turn_taking import INTERRUPTION_STRATEGIES

        name = options.get("interruption")
        if name is not None and name not in INTERRUPTION_STRATEGIES:
            known = ", ".join(repr(n) for n in INTERRUPTION_STRATEGIES)
            raise forms.ValidationError(f"Unknown interruption strategy {name!r}: use {known}.")

    @staticmethod
    def _check_tools(tools) -> None:
        """The same checks the OpenAI brain applies when a call starts, made now instead of mid-call."""
        from calls.providers.base import ProviderError
        from calls.providers.llm.tools import HttpTool

        if not isinstance(tools, list):
            raise forms.ValidationError("'tools' must be a list of tool objects.")
        for i, tool in enumerate(tools, start=1):
            if not isinstance(tool, dict):
                raise forms.ValidationError(f"'tools' item {i} must be an object.")
            try:
                HttpTool.from_config(tool)
            except ProviderError as exc:
                raise forms.ValidationError(f"'tools' item {i}: {exc}") from exc

    def clean(self):
        data = super().clean()
        if data.get("llm_provider") == "flow" and "flow" in data and not data["flow"]:
            self.add_error("flow", "The Flow brain needs a flow. Write one here or choose another brain.")
        elif data.get("flow") and "flow" not in self.errors and "provider_options" not in self.errors:
            # Check the flow against what this agent will have (an LLM, its tools, the workspace's agents).
            probe = Agent(llm_provider=data.get("llm_provider", "flow"), provider_options=data.get("provider_options") or {},
                          tools=data.get("tools") or [])
            names = set(Agent.objects.filter(workspace=self.workspace).values_list("name", flat=True))
            try:
                validate_flow(data["flow"], capabilities_for(probe, names | {data.get("name", "")}))
            except FlowError as exc:
                self.add_error("flow", str(exc))
        ask, longest = data.get("smart_turn_silence_ms"), data.get("end_of_turn_max_silence_ms")
        if data.get("end_of_turn") == "smart-turn" and ask and longest and longest <= ask:
            self.add_error("end_of_turn_max_silence_ms", "The longest wait must be longer than the silence after "
                           "which the model is asked.")
        voice = (data.get("voice") or "").strip()
        if data.get("tts_provider") in ("espeak", "piper") and voice and "voice" not in self.errors:
            error = espeak_voice_error(voice) if data["tts_provider"] == "espeak" else piper_voice_error(voice)
            if error:
                self.add_error("voice", error)
        return data

    def save(self, commit: bool = True) -> Agent:
        self.instance.workspace = self.workspace
        return super().save(commit)


def normalize_e164(raw: str) -> str:
    """'+1 (555) 010-0000' -> '+15550100000'. Spacing and punctuation people paste are dropped; nothing else is."""
    return re.sub(r"[\s().\-]", "", raw or "")


class PhoneNumberForm(forms.ModelForm):
    class Meta:
        model = PhoneNumber
        fields = ["e164", "carrier", "agent"]
        labels = {"e164": "Phone number (E.164)"}
        help_texts = {"e164": "International format with country code, e.g. +14155550123."}

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["agent"].queryset = Agent.objects.filter(workspace=workspace).order_by("name")
        self.fields["e164"].widget.attrs.update(placeholder="+14155550123", autocomplete="off")
        # Numbers come from telephone carriers; browser calls have no number to bind.
        carriers = [Carrier.TWILIO, Carrier.TELNYX]
        if self.instance.carrier and self.instance.carrier not in carriers:
            carriers.append(Carrier(self.instance.carrier))  # keep an existing binding editable
        self.fields["carrier"].choices = [(c.value, c.label) for c in carriers]
        self.fields["carrier"].initial = Carrier.TWILIO

    def clean_e164(self):
        number = normalize_e164(self.cleaned_data["e164"])
        if not E164.match(number):
            raise forms.ValidationError(
                "Not an E.164 number: it must start with + and the country code, "
                "then 7 to 15 digits in all (e.g. +14155550123)."
            )
        return number

    def validate_unique(self):
        # The (number, carrier) pair is unique across all workspaces; say so without revealing whose it is.
        number, carrier = self.cleaned_data.get("e164"), self.cleaned_data.get("carrier")
        if number and carrier:
            taken = PhoneNumber.objects.filter(e164=number, carrier=carrier).exclude(pk=self.instance.pk)
            if taken.exists():
                label = dict(Carrier.choices).get(carrier, carrier)
                self.add_error("e164", f"{number} is already bound on {label}. Edit that binding instead.")

    def save(self, commit: bool = True) -> PhoneNumber:
        self.instance.workspace = self.workspace
        return super().save(commit)


class CallFilterForm(forms.Form):
    """The calls list's filters. All optional; invalid values are reported and ignored."""

    q = forms.CharField(
        required=False,
        label="Search transcripts",
        widget=forms.TextInput(
            attrs={"placeholder": "Words the caller or agent said, call id, number", "type": "search"}
        ),
    )
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False, empty_label="Any agent")
    number = forms.ChoiceField(required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *Call.Status.choices], required=False)
    direction = forms.ChoiceField(choices=[("", "Any direction"), *Call.Direction.choices], required=False)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    min_duration = forms.FloatField(
        required=False,
        min_value=0,
        label="Min s",
        widget=forms.NumberInput(attrs={"placeholder": "min", "step": "any"}),
    )
    max_duration = forms.FloatField(
        required=False,
        min_value=0,
        label="Max s",
        widget=forms.NumberInput(attrs={"placeholder": "max", "step": "any"}),
    )

    success = forms.ChoiceField(choices=[("", "Any outcome"), ("yes", "Succeeded"), ("no", "Did not succeed")],
                                required=False, label="Success")
    field = forms.RegexField(regex=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", required=False, label="Analysis field",
                             widget=forms.TextInput(attrs={"placeholder": "e.g. interested"}),
                             error_messages={"invalid": "A field name: letters, digits and _."})
    value = forms.CharField(required=False, max_length=200, label="equals",
                            widget=forms.TextInput(attrs={"placeholder": "e.g. true"}))

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = Agent.objects.filter(workspace=workspace).order_by("name")
        numbers = PhoneNumber.objects.filter(workspace=workspace).values_list("e164", flat=True).distinct()
        self.fields["number"].choices = [("", "Any number"), *((n, n) for n in sorted(set(numbers)))]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        low, high = data.get("min_duration"), data.get("max_duration")
        if low is not None and high is not None and low > high:
            self.add_error("max_duration", "Max is below min.")
        return data


class AnalyticsFilterForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False, empty_label="All agents")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    include_tests = forms.BooleanField(required=False, label="Include test calls")

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = Agent.objects.filter(workspace=workspace).order_by("name")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        elif since and until and (until - since).days >= MAX_PERIOD_DAYS:
            self.add_error("since", f"Pick at most {MAX_PERIOD_DAYS} days (one point per day is drawn).")
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What uses this token, e.g. 'BI export' or 'CRM sync'.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, initial=[Scope.READ], widget=forms.CheckboxSelectMultiple,
                                       required=False, help_text="Give it only what it needs (none ticked: read).")
    expires = forms.ChoiceField(choices=[("7d", "in 7 days"), ("30d", "in 30 days"), ("90d", "in 90 days"),
                                         ("365d", "in a year"), ("never", "never")], initial="90d", required=False)

    def clean_scopes(self) -> list[str]:
        return self.cleaned_data["scopes"] or [Scope.READ.value]  # the least a token is for

    def clean_expires(self) -> str:
        return self.cleaned_data["expires"] or "90d"
