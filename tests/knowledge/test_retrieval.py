"""Retrieval picks the right passage: eight callers' questions over three documents of one agent (Markdown, HTML,
PDF), with another agent's documents in the same database. FTS5 (the SQLite default) and the pure-Python BM25
(PostgreSQL re-ranking, other databases) must agree."""

from __future__ import annotations

import pytest

from calls.flows.demo import DEMO_KNOWLEDGE
from calls.models import Agent, Workspace
from knowledge import bm25
from knowledge import search as search_module
from knowledge.ingest import add_document
from knowledge.search import has_documents, search

from .pdf import make_pdf

SERVICES = b"""<html><body>
<h1>Services and prices</h1>
<h2>Teeth whitening</h2><p>Professional teeth whitening takes one hour and costs 350 dollars.</p>
<h2>Implants</h2><p>Dental implants replace missing teeth. A consultation is free.</p>
<h2>Children's dentistry</h2><p>We treat children from age two. Kids get a sticker after every visit.</p>
</body></html>"""
POLICIES = make_pdf([
    "Late arrivals",
    "If you are running more than 15 minutes late, we may need to reschedule your appointment.",
    "Payment plans",
    "Treatments over 500 dollars can be paid in monthly installments with no interest.",
])  # fmt: skip

QUESTIONS = [
    ("What are your opening hours?", "Opening hours"),
    ("Do you take Delta Dental insurance?", "Insurance and payment"),
    ("Where can I park my car?", "Location and parking"),
    ("How much does teeth whitening cost?", "Teeth whitening"),
    ("Do you treat children?", "Children's dentistry"),
    ("What happens if I'm running late?", "Policies"),
    ("Can I pay in monthly installments?", "Policies"),
    ("I have a broken tooth, what should I do?", "Emergencies"),
]


@pytest.fixture
def agents(db):
    workspace = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=workspace, name="Dentist")
    other = Agent.objects.create(workspace=workspace, name="Vet")
    add_document(agent, DEMO_KNOWLEDGE.encode(), filename="practice.md", title="Practice information")
    add_document(agent, SERVICES, filename="services.html")
    add_document(agent, POLICIES, filename="policies.pdf", title="Policies")
    add_document(other, b"# Opening hours\n\nThe vet is open on Sundays. We sell pet food and treat children's pets.",
                 filename="vet.md")
    return agent, other


def best(agent: Agent, question: str):
    hits = search(agent.pk, question, k=3)
    return hits[0] if hits else None


@pytest.mark.parametrize("backend", ["fts5", "python"])
def test_the_right_passage_for_each_question(agents, backend, monkeypatch):
    agent, _ = agents
    monkeypatch.setattr(search_module, "backend", lambda: backend)
    for question, expected in QUESTIONS:
        hit = best(agent, question)
        assert hit is not None, question
        where = hit.heading or hit.title
        assert expected in where or expected == hit.title, (question, where, hit.text[:60])


@pytest.mark.parametrize("backend", ["fts5", "python"])
def test_unrelated_questions_find_nothing_and_agents_are_isolated(agents, backend, monkeypatch):
    agent, other = agents
    monkeypatch.setattr(search_module, "backend", lambda: backend)
    assert search(agent.pk, "Do you sell pet food?") == []
    assert search(agent.pk, "Can I bring my dog?") == []
    assert search(agent.pk, "what is the") == []  # nothing but stopwords
    assert all("vet" not in h.text for h in search(agent.pk, "Are you open on Sundays?"))
    assert best(other, "Are you open on Sundays?").title == "vet.md"


def test_results_are_ranked_and_documents_can_be_removed(agents):
    agent, _ = agents
    hits = search(agent.pk, "opening hours", k=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].heading.endswith("Opening hours") and hits[0].coverage == 1.0
    agent.documents.get(title="Practice information").delete()  # triggers keep the FTS index in step
    assert all(h.title != "Practice information" for h in search(agent.pk, "opening hours"))
    assert has_documents(agent.pk)


def test_bm25_prefers_rarer_terms_and_shorter_passages():
    chunks = [(1, "", "parking parking and more about the building"), (2, "", "the building has parking"),
              (3, "Parking", "free"), (4, "", "nothing relevant here")]
    ranked = bm25.rank("parking", chunks)
    assert [chunk_id for chunk_id, _ in ranked] == [3, 1, 2]  # heading counts double; the unrelated one is out
    assert bm25.rank("the and", chunks) == []
