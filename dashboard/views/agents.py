"""Agents: list, create, edit, clone, delete, and a spoken sample of a voice."""

from __future__ import annotations

import json
import io
import wave

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, ProtectedError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from calls.agent_templates import BY_KEY as AGENT_TEMPLATES
from calls.agent_templates import TEMPLATES
from calls.flows.schema import FlowError, validate_flow
from calls.models import Agent
from calls.templating import BUILTIN_VARIABLES
from suites.library import copy_scenarios

from ..flow_diagram import build_diagram
from ..forms import STARTER_FLOW, AgentForm, espeak_voice_choices
from ..workspace import WorkspaceMixin

SAMPLE_TEXT = "Hello! Thanks for calling. How can I help you today?"
SAMPLE_MAX_CHARS = 300


class AgentListView(WorkspaceMixin, View):
    def get(self, request):
        agents = (
            Agent.objects.filter(workspace=self.workspace)
            .annotate(number_count=Count("numbers", distinct=True), call_count=Count("calls", distinct=True))
            .order_by("name")
        )
        return render(request, "dashboard/agents/list.html",
                      {"agents": agents, "nav": "agents", "templates": TEMPLATES})


class AgentEditView(WorkspaceMixin, View):
    """Create (no pk) or edit an agent. A valid form is saved in one transaction; an invalid one saves nothing."""

    def get_agent(self, pk: int | None, template: str = "") -> Agent:
        if pk is None:
            if template in AGENT_TEMPLATES:  # a prompt-first agent to start from, prefilled and not yet saved
                return Agent(workspace=self.workspace, **AGENT_TEMPLATES[template].fields)
            return Agent(workspace=self.workspace, flow=STARTER_FLOW, greeting="Hello, thanks for calling.")
        return get_object_or_404(Agent, pk=pk, workspace=self.workspace)

    def get(self, request, pk: int | None = None):
        agent = self.get_agent(pk, request.GET.get("template", ""))
        return self.render_form(request, AgentForm(instance=agent, workspace=self.workspace), agent)

    def post(self, request, pk: int | None = None):
        agent = self.get_agent(pk)
        form = AgentForm(request.POST, instance=agent, workspace=self.workspace)
        if not form.is_valid():
            return self.render_form(request, form, agent, status=400)
        with transaction.atomic():
            agent = form.save()
        messages.success(request, f"Agent “{agent.name}” saved.")
        return redirect("dashboard:agent-edit", pk=agent.pk)

    def render_form(self, request, form: AgentForm, agent: Agent, status: int = 200):
        if form.is_bound:
            # Draw what was submitted when it is valid; an invalid flow has no diagram, its error says why.
            flow = None if "flow" in form.errors else form.cleaned_data.get("flow")
        else:
            flow = agent.flow
        diagram = None
        if flow:
            try:
                validate_flow(flow)
                diagram = build_diagram(flow)
            except FlowError:
                diagram = None  # a stored flow that no longer validates: the form's error says why
        context = {
            "form": form,
            "agent": agent,
            "diagram": diagram,
            "voices": espeak_voice_choices(),
            "nav": "agents",
            "numbers": agent.numbers.all() if agent.pk else [],
            "builtin_variables": sorted(BUILTIN_VARIABLES.items()),
        }
        return render(request, "dashboard/agents/edit.html", context, status=status)


class AgentCloneView(WorkspaceMixin, View):
    def post(self, request, pk: int):
        source = get_object_or_404(Agent, pk=pk, workspace=self.workspace)
        clone = clone_agent(source)
        messages.success(request, f"Cloned “{source.name}” as “{clone.name}”. Numbers stay on the original.")
        return redirect("dashboard:agent-edit", pk=clone.pk)


def clone_agent(source: Agent) -> Agent:
    """A copy of `source` under a free name (shared by the page and the API). Numbers stay on the original."""
    with transaction.atomic():
        clone = Agent.objects.get(pk=source.pk)
        clone.pk = None
        clone.name = _copy_name(source)
        clone.save()
        copy_scenarios(source, clone)
    return clone


def _copy_name(agent: Agent) -> str:
    taken = set(Agent.objects.filter(workspace=agent.workspace).values_list("name", flat=True))
    base = f"{agent.name} (copy)"
    name, n = base, 2
    while name in taken:
        name, n = f"{agent.name} (copy {n})", n + 1
    return name[:120]


class AgentDeleteView(WorkspaceMixin, View):
    def get(self, request, pk: int):
        agent = get_object_or_404(Agent, pk=pk, workspace=self.workspace)
        return render(
            request, "dashboard/agents/delete.html", {"agent": agent, "numbers": agent.numbers.all(), "nav": "agents"}
        )

    def post(self, request, pk: int):
        agent = get_object_or_404(Agent, pk=pk, workspace=self.workspace)
        try:
            with transaction.atomic():
                agent.delete()
        except ProtectedError:
            # Numbers point at agents with PROTECT: a live number must never be left without an agent.
            messages.error(request, f"“{agent.name}” still answers phone numbers. Move or unbind them first.")
            return redirect("dashboard:agent-delete", pk=agent.pk)
        messages.success(request, f"Agent “{agent.name}” deleted. Its past calls are kept.")
        return redirect("dashboard:agents")


class VoiceSampleView(WorkspaceMixin, View):
    """GET ?provider=piper|espeak&voice=...&text=...&language=es-ES&options={"speed": 1.1} -> a WAV of an embedded
    voice speaking, for the 'hear this voice' button, with the agent's language and TTS options as a call would use
    them (Piper at its own 22.05 kHz: the sample shows the voice, not the phone line). A language Piper has no
    voice for is spoken by espeak, as in a call; the X-Voice header says which voice spoke."""

    def get(self, request):
        from calls.agent_config import validate_voice_options
        from calls.languages import language_or_none
        from calls.providers.base import ProviderError
        from calls.providers.tts.espeak_engine import get_espeak
        from calls.providers.tts.espeak_local import DEFAULT_RATE_WPM, espeak_voice, voice_for_language
        from calls.providers.tts.piper_engine import get_piper
        from calls.providers.tts.piper_local import piper_voice_for
        from calls.providers.tts.piper_local import render as piper_render

        provider = request.GET.get("provider") or "espeak"
        voice = (request.GET.get("voice") or "").strip()[:80]
        text = (request.GET.get("text") or SAMPLE_TEXT).strip()[:SAMPLE_MAX_CHARS] or SAMPLE_TEXT
        lang = language_or_none(request.GET.get("language") or None)
        try:
            options = json.loads(request.GET.get("options") or "{}")
            validate_voice_options({"tts": options})
        except ValueError as exc:  # JSONDecodeError is a ValueError
            return HttpResponseBadRequest(f"Voice options: {exc}", content_type="text/plain")
        try:
            if provider == "piper":
                try:
                    name = piper_voice_for(voice, lang)
                except ProviderError:
                    provider = "espeak"  # as in a call: espeak speaks the languages Piper has no voice for
                else:
                    rate = get_piper(name).sample_rate
                    pcm = piper_render(text, rate, name, options)
            if provider != "piper":
                name = voice_for_language(espeak_voice(voice), lang)
                pitch = options.get("pitch")
                pcm, rate = get_espeak().synthesize(text, voice=name, rate_wpm=int(options.get("rate_wpm",
                                                    DEFAULT_RATE_WPM)), pitch=None if pitch is None else int(pitch))
        except ProviderError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain")
        response = HttpResponse(pcm_to_wav(pcm, rate), content_type="audio/wav")
        response["Cache-Control"] = "private, max-age=300"
        response["X-Voice"] = f"{provider} {name}"
        return response


def pcm_to_wav(pcm: bytes, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buf.getvalue()
