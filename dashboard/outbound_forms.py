"""Forms of outbound calling: one call now, and a campaign from an uploaded CSV of contacts."""

from __future__ import annotations

import csv
import io
import re

from django import forms

from automation.models import Campaign, Contact
from calls.models import Agent, PhoneNumber, Workspace

from .forms import E164, JSONObjectField

MAX_CONTACTS = 10_000
MAX_CSV_BYTES = 2 * 1024 * 1024
NUMBER_COLUMNS = ("number", "phone", "to", "phone_number")
_FORMATTING = re.compile(r"[\s().-]")


def e164(raw: str) -> str:
    """`raw` without spaces, dots, dashes or brackets, if that is an E.164 number; else ValidationError."""
    number = _FORMATTING.sub("", raw or "")
    if not E164.match(number):
        raise forms.ValidationError(f"{raw!r} is not an E.164 number (+ country code, then 7 to 15 digits).")
    return number


class _WorkspaceForm(forms.Form):
    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.fields["agent"].queryset = Agent.objects.filter(workspace=workspace).order_by("name")
        self.fields["number"].queryset = PhoneNumber.objects.filter(workspace=workspace).exclude(
            carrier="browser").order_by("e164", "carrier")


class OutboundCallForm(_WorkspaceForm):
    agent = forms.ModelChoiceField(queryset=Agent.objects.none())
    to = forms.CharField(max_length=32, label="Number to call",
                         widget=forms.TextInput(attrs={"placeholder": "+14155550123"}))
    number = forms.ModelChoiceField(queryset=PhoneNumber.objects.none(), required=False, label="Call from",
                                    empty_label="A number bound to the agent")
    variables = JSONObjectField(required=False, help_text='Fill the flow\'s {placeholders}, e.g. {"name": "Ada"}.')

    def clean_to(self) -> str:
        return e164(self.cleaned_data["to"])

    def clean(self):
        data = super().clean()
        agent = data.get("agent")
        if agent is not None and data.get("number") is None:
            data["number"] = PhoneNumber.objects.filter(workspace=self.workspace, agent=agent).exclude(
                carrier="browser").order_by("carrier").first()
            if data["number"] is None:
                self.add_error("number", "The agent has no number: choose one to call from.")
        return data


def parse_contacts(raw: bytes) -> list[tuple[str, dict]]:
    """(number, variables) per row of a CSV with a header; the number column is `number` (or phone, to), every
    other column becomes a variable. Raises ValidationError naming the rows at fault."""
    if len(raw) > MAX_CSV_BYTES:
        raise forms.ValidationError(f"The file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise forms.ValidationError("The file is not UTF-8 text.") from exc
    reader = csv.DictReader(io.StringIO(text))
    headers = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    column = next((headers[c] for c in NUMBER_COLUMNS if c in headers), None)
    if column is None:
        raise forms.ValidationError("The first row must be a header with a 'number' column.")
    contacts: dict[str, dict] = {}
    errors = []
    for line, row in enumerate(reader, start=2):
        try:
            number = e164(row.get(column) or "")
        except forms.ValidationError as exc:
            errors.append(f"row {line}: {exc.messages[0]}")
            continue
        variables = {k.strip(): (v or "").strip() for k, v in row.items() if k and k != column}
        contacts.setdefault(number, variables)  # a number listed twice is called once
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise forms.ValidationError("; ".join(errors[:5]) + more)
    if not contacts:
        raise forms.ValidationError("The file has no contacts.")
    if len(contacts) > MAX_CONTACTS:
        raise forms.ValidationError(f"At most {MAX_CONTACTS} contacts per campaign.")
    return list(contacts.items())


class CampaignForm(_WorkspaceForm):
    name = forms.CharField(max_length=120)
    agent = forms.ModelChoiceField(queryset=Agent.objects.none())
    number = forms.ModelChoiceField(queryset=PhoneNumber.objects.none(), label="Call from")
    concurrency_cap = forms.IntegerField(min_value=1, max_value=50, initial=2, label="Calls at once")
    max_attempts = forms.IntegerField(min_value=1, max_value=10, initial=2, label="Attempts per contact")
    retry_delay_s = forms.IntegerField(min_value=10, max_value=7 * 86400, initial=300, label="Retry after (s)")
    contacts = forms.FileField(help_text="CSV with a header: number, then any variables (name, day, ...).")

    def clean_contacts(self) -> list[tuple[str, dict]]:
        return parse_contacts(self.cleaned_data["contacts"].read())

    def save(self) -> Campaign:
        data = self.cleaned_data
        number: PhoneNumber = data["number"]
        campaign = Campaign.objects.create(
            workspace=self.workspace, agent=data["agent"], name=data["name"], from_number=number.e164,
            carrier=number.carrier, concurrency_cap=data["concurrency_cap"], max_attempts=data["max_attempts"],
            retry_delay_s=data["retry_delay_s"],
        )
        Contact.objects.bulk_create(
            [Contact(campaign=campaign, number=n, variables=v) for n, v in data["contacts"]], batch_size=1000)
        return campaign
