"""Dashboard pages. Every view requires a login and acts on the user's workspace (dashboard.workspace)."""

from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

from .views import (
    agents,
    analytics,
    call_export,
    calls,
    campaigns,
    knowledge,
    live,
    numbers,
    outbound,
    recordings,
    static,
    suites,
    talk,
    tokens,
    webhooks,
    workspaces,
)

app_name = "dashboard"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:calls"), name="home"),
    path("agents/", agents.AgentListView.as_view(), name="agents"),
    path("agents/new/", agents.AgentEditView.as_view(), name="agent-new"),
    path("agents/<int:pk>/", agents.AgentEditView.as_view(), name="agent-edit"),
    path("agents/<int:pk>/clone/", agents.AgentCloneView.as_view(), name="agent-clone"),
    path("agents/<int:pk>/delete/", agents.AgentDeleteView.as_view(), name="agent-delete"),
    path("agents/<int:pk>/knowledge/", knowledge.KnowledgeView.as_view(), name="agent-knowledge"),
    path("agents/<int:pk>/talk/", talk.TalkView.as_view(), name="agent-talk"),
    path("agents/<int:pk>/tests/", suites.SuiteView.as_view(), name="agent-suite"),
    path("agents/<int:pk>/tests/new/", suites.ScenarioEditView.as_view(), name="agent-scenario-new"),
    path("agents/<int:pk>/tests/<int:sid>/", suites.ScenarioEditView.as_view(), name="agent-scenario"),
    path("agents/<int:pk>/tests/runs/<int:run_id>/", suites.SuiteRunView.as_view(), name="agent-suite-run"),
    path("agents/<int:pk>/talk/start/", talk.TalkStartView.as_view(), name="agent-talk-start"),
    path("voices/sample.wav", agents.VoiceSampleView.as_view(), name="voice-sample"),
    path("numbers/", numbers.NumberListView.as_view(), name="numbers"),
    path("numbers/<int:pk>/", numbers.NumberEditView.as_view(), name="number-edit"),
    path("numbers/<int:pk>/delete/", numbers.NumberDeleteView.as_view(), name="number-delete"),
    path("calls/", calls.CallListView.as_view(), name="calls"),
    path("calls/<int:pk>/", calls.CallDetailView.as_view(), name="call-detail"),
    path("calls/<int:pk>/recording.wav", recordings.CallRecordingView.as_view(), name="call-recording"),
    path("analytics/", analytics.AnalyticsView.as_view(), name="analytics"),
    path("calls/export.csv", call_export.CallExportView.as_view(), name="calls-export"),
    path("analytics/export.csv", analytics.AnalyticsExportView.as_view(), name="analytics-export"),
    path("live/", live.LiveView.as_view(), name="live"),
    path("live/health.json", live.LiveHealthView.as_view(), name="live-health"),
    path("outbound/", outbound.OutboundView.as_view(), name="outbound"),
    path("outbound/campaigns/<int:pk>/", campaigns.CampaignView.as_view(), name="campaign"),
    path("outbound/campaigns/<int:pk>/progress.json", campaigns.CampaignProgressView.as_view(),
         name="campaign-progress"),
    path("webhooks/", webhooks.WebhookDeliveryListView.as_view(), name="webhooks"),
    path("tokens/", tokens.TokenListView.as_view(), name="tokens"),
    path("tokens/<int:pk>/delete/", tokens.TokenDeleteView.as_view(), name="token-delete"),
    path("workspace/", workspaces.SwitchWorkspaceView.as_view(), name="workspace-switch"),
    path("static/<path:path>", static.serve_static, name="static"),
]
