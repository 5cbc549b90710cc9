"""Login everywhere, and one workspace never sees or changes another's objects."""

from __future__ import annotations

import pytest
from django.urls import reverse

from calls.models import Agent, PhoneNumber

from .conftest import make_user

pytestmark = pytest.mark.django_db


def page_urls(agent, call, number) -> list[str]:
    return [
        "/",
        reverse("dashboard:agents"),
        reverse("dashboard:agent-new"),
        reverse("dashboard:agent-edit", args=[agent.pk]),
        reverse("dashboard:agent-delete", args=[agent.pk]),
        reverse("dashboard:voice-sample"),
        reverse("dashboard:numbers"),
        reverse("dashboard:number-edit", args=[number.pk]),
        reverse("dashboard:calls"),
        reverse("dashboard:call-detail", args=[call.pk]),
        reverse("dashboard:analytics"),
        reverse("dashboard:analytics-export"),
        reverse("dashboard:live"),
        reverse("dashboard:tokens"),
    ]


def test_anonymous_is_sent_to_login_from_every_page(client, agent_a, call_a, number_a):
    for url in page_urls(agent_a, call_a, number_a):
        response = client.get(url, follow=True)
        assert response.redirect_chain, url
        final = response.redirect_chain[-1][0]
        assert final.startswith("/accounts/login/?next="), (url, final)
        assert response.status_code == 200


def test_anonymous_cannot_post(client, agent_a, number_a):
    for url in (
        reverse("dashboard:agent-clone", args=[agent_a.pk]),
        reverse("dashboard:agent-delete", args=[agent_a.pk]),
        reverse("dashboard:number-delete", args=[number_a.pk]),
        reverse("dashboard:agent-new"),
    ):
        response = client.post(url, {"name": "x"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert Agent.objects.filter(pk=agent_a.pk).exists() and PhoneNumber.objects.filter(pk=number_a.pk).exists()


def test_login_page_renders_and_logs_in(client, user_a):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery", "next": "/agents/"}
    )
    assert response.status_code == 302 and response["Location"] == "/agents/"


def test_other_workspace_objects_are_404(client_a, agent_b, call_b, number_b):
    for url in (
        reverse("dashboard:agent-edit", args=[agent_b.pk]),
        reverse("dashboard:agent-delete", args=[agent_b.pk]),
        reverse("dashboard:call-detail", args=[call_b.pk]),
        reverse("dashboard:number-edit", args=[number_b.pk]),
    ):
        assert client_a.get(url).status_code == 404, url
    for url in (
        reverse("dashboard:agent-edit", args=[agent_b.pk]),
        reverse("dashboard:agent-clone", args=[agent_b.pk]),
        reverse("dashboard:agent-delete", args=[agent_b.pk]),
        reverse("dashboard:number-delete", args=[number_b.pk]),
    ):
        assert client_a.post(url, {"name": "hijacked"}).status_code == 404, url
    agent_b.refresh_from_db()
    assert agent_b.name == "Bolt bot" and Agent.objects.filter(workspace=agent_b.workspace).count() == 1
    assert PhoneNumber.objects.filter(pk=number_b.pk).exists()


def test_lists_show_only_own_workspace(client_a, agent_a, agent_b, call_a, call_b, number_a, number_b):
    agents = client_a.get(reverse("dashboard:agents")).content.decode()
    assert agent_a.name in agents and agent_b.name not in agents
    calls = client_a.get(reverse("dashboard:calls")).content.decode()
    assert f"/calls/{call_a.pk}/" in calls and f"/calls/{call_b.pk}/" not in calls
    numbers = client_a.get(reverse("dashboard:numbers")).content.decode()
    assert number_a.e164 in numbers and number_b.e164 not in numbers
    # Searching for B's transcript from A finds nothing.
    found = client_a.get(reverse("dashboard:calls"), {"q": "bravo"}).content.decode()
    assert f"/calls/{call_b.pk}/" not in found


def test_number_form_offers_only_own_agents(client_a, agent_a, agent_b):
    response = client_a.post(
        reverse("dashboard:numbers"), {"e164": "+15550109999", "carrier": "twilio", "agent": agent_b.pk}
    )
    assert response.status_code == 400
    assert not PhoneNumber.objects.filter(e164="+15550109999").exists()


def test_user_without_workspace_gets_403(client, ws_a):
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user("loner", password="x")
    client.force_login(loner)
    assert client.get(reverse("dashboard:agents")).status_code == 403


def test_member_of_two_workspaces_can_switch(client, ws_a, ws_b, agent_a, agent_b):
    user = make_user("both", ws_a)
    ws_b.members.add(user)
    client.force_login(user)
    assert agent_a.name in client.get("/agents/").content.decode()
    client.post(reverse("dashboard:workspace-switch"), {"workspace": ws_b.pk, "next": "/agents/"})
    page = client.get("/agents/").content.decode()
    assert agent_b.name in page and agent_a.name not in page
    # Not a member: refused, and the choice is unchanged.
    other = type(ws_a).objects.create(name="Other", slug="other")
    assert client.post(reverse("dashboard:workspace-switch"), {"workspace": other.pk}).status_code == 404


def test_csrf_is_enforced(user_a, agent_a):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user_a)
    assert strict.post(reverse("dashboard:agent-clone", args=[agent_a.pk])).status_code == 403
