"""Dashboard pages. Every view requires a login and acts on the user's workspace (dashboard.workspace)."""

from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

from .views import agents, analytics, calls, live, numbers, static, tokens, workspaces

app_name = "dashboard"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:calls"), name="home"),
    path("agents/", agents.AgentListView.as_view(), name="agents"),
    path("agents/new/", agents.AgentEditView.as_view(), name="agent-new"),
    path("agents/<int:pk>/", agents.AgentEditView.as_view(), name="agent-edit"),
    path("agents/<int:pk>/clone/", agents.AgentCloneView.as_view(), name="agent-clone"),
    path("agents/<int:pk>/delete/", agents.AgentDeleteView.as_view(), name="agent-delete"),
    path("voices/sample.wav", agents.VoiceSampleView.as_view(), name="voice-sample"),
    path("numbers/", numbers.NumberListView.as_view(), name="numbers"),
    path("numbers/<int:pk>/", numbers.NumberEditView.as_view(), name="number-edit"),
    path("numbers/<int:pk>/delete/", numbers.NumberDeleteView.as_view(), name="number-delete"),
    path("calls/", calls.CallListView.as_view(), name="calls"),
    path("calls/<int:pk>/", calls.CallDetailView.as_view(), name="call-detail"),
    path("analytics/", analytics.AnalyticsView.as_view(), name="analytics"),
    path("analytics/export.csv", analytics.AnalyticsExportView.as_view(), name="analytics-export"),
    path("live/", live.LiveView.as_view(), name="live"),
    path("tokens/", tokens.TokenListView.as_view(), name="tokens"),
    path("tokens/<int:pk>/delete/", tokens.TokenDeleteView.as_view(), name="token-delete"),
    path("workspace/", workspaces.SwitchWorkspaceView.as_view(), name="workspace-switch"),
    path("static/<path:path>", static.serve_static, name="static"),
]
