"""Talk to an agent from the browser: the page, and the POST that opens a call and hands out its stream token."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from calls.carriers.browser.media import SAMPLE_RATE
from calls.carriers.browser.open_call import open_browser_call
from calls.models import Agent

from ..workspace import WorkspaceMixin

SOCKET_PATH = "/media/browser"


class TalkView(WorkspaceMixin, View):
    def get(self, request, pk: int):
        agent = get_object_or_404(Agent, pk=pk, workspace=self.workspace)
        return render(request, "dashboard/agents/talk.html", {"agent": agent, "nav": "agents"})


class TalkStartView(WorkspaceMixin, View):
    """POST only (CSRF-checked): a page on another site cannot obtain a token with the user's cookie."""

    def post(self, request, pk: int):
        agent = get_object_or_404(Agent, pk=pk, workspace=self.workspace)
        call, token = open_browser_call(agent, request.user.get_username())
        return JsonResponse(
            {
                "token": token,
                "call": call.pk,
                "socket": SOCKET_PATH,
                "sample_rate": SAMPLE_RATE,
                "call_url": reverse("dashboard:call-detail", args=[call.pk]),
            },
            status=201,
        )
