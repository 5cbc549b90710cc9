"""The knowledge base page of an agent (upload, list, remove; workspace-scoped) and the sources under agent
turns in the call detail."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from knowledge.ingest import add_document
from knowledge.models import Document, TurnSource
from knowledge.records import save_turn_sources
from knowledge.search import search

from .conftest import SAMPLE_TURNS, make_call

MARKDOWN = b"# Clinic\n\n## Parking\nThere is free parking behind the building.\n"


def test_the_agent_page_links_to_its_knowledge_base(client_a, agent_a):
    page = client_a.get(reverse("dashboard:agent-edit", args=[agent_a.pk])).content.decode()
    assert reverse("dashboard:agent-knowledge", args=[agent_a.pk]) in page


def test_upload_list_and_remove(client_a, agent_a):
    url = reverse("dashboard:agent-knowledge", args=[agent_a.pk])
    assert "No documents yet" in client_a.get(url).content.decode()
    response = client_a.post(url, {"file": SimpleUploadedFile("clinic.md", MARKDOWN), "title": "Clinic info"})
    assert response.status_code == 302
    document = Document.objects.get(agent=agent_a)
    assert document.title == "Clinic info" and document.kind == "markdown" and document.workspace == agent_a.workspace
    assert search(agent_a.pk, "Is there parking?")[0].document_id == document.pk
    page = client_a.get(url).content.decode()
    assert "Clinic info" in page and "1 passage indexed" in page
    assert client_a.post(url, {"delete": document.pk}).status_code == 302
    assert not Document.objects.exists() and search(agent_a.pk, "parking") == []


def test_bad_uploads_are_explained(client_a, agent_a):
    url = reverse("dashboard:agent-knowledge", args=[agent_a.pk])
    response = client_a.post(url, {"file": SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0")})
    assert response.status_code == 400 and "Unknown file type" in response.content.decode()
    response = client_a.post(url, {})
    assert response.status_code == 400 and not Document.objects.exists()


def test_other_workspaces_cannot_see_or_touch_the_documents(client_a, agent_a, agent_b):
    theirs = add_document(agent_b, MARKDOWN, filename="theirs.md")
    assert client_a.get(reverse("dashboard:agent-knowledge", args=[agent_b.pk])).status_code == 404
    own = reverse("dashboard:agent-knowledge", args=[agent_a.pk])
    assert client_a.post(own, {"delete": theirs.pk}).status_code == 404
    assert "theirs.md" not in client_a.get(own).content.decode()
    assert Document.objects.filter(pk=theirs.pk).exists()


def test_call_detail_shows_the_sources_of_agent_turns(client_a, ws_a, agent_a):
    document = add_document(agent_a, MARKDOWN, filename="clinic.md")
    call = make_call(ws_a, agent_a, "CA-sources", turns=SAMPLE_TURNS)
    turn = call.turns.get(index=4)
    save_turn_sources(turn, search(agent_a.pk, "parking"))
    assert TurnSource.objects.get(turn=turn).document == document
    page = client_a.get(reverse("dashboard:call-detail", args=[call.pk])).content.decode()
    assert page.count('data-testid="sources"') == 1 and "Sources: <span" in page and "clinic.md" in page
