"""An agent's knowledge base: uploaded documents, their chunks (the unit of retrieval), and which chunks a reply
used (shown under the turn in the call detail).

The full-text index is not a model: SQLite gets an FTS5 table kept in sync by triggers, PostgreSQL a GIN index
on the chunks' text (migration 0002); `knowledge.search` hides which one answers.
"""

from __future__ import annotations

from django.db import models

from calls.models import Agent, Turn, Workspace


class Document(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        MARKDOWN = "markdown", "Markdown"
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="documents")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    filename = models.CharField(max_length=255, blank=True, default="")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.TextField(help_text="The extracted text, headings marked with #.")
    size_bytes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    # Denormalised from the document: every search filters on the agent, so it must not need a join.
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True, default="")
    text = models.TextField()
    word_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["document", "index"]
        unique_together = [("document", "index")]
        indexes = [models.Index(fields=["agent"], name="knowledge_chunk_agent")]

    def __str__(self) -> str:
        return f"{self.document.title} #{self.index}"


class TurnSource(models.Model):
    """A knowledge chunk an agent turn drew on. Title and excerpt are copied so the record survives the
    document's deletion (the links then become null)."""

    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="knowledge_sources")
    document = models.ForeignKey(Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    chunk = models.ForeignKey(Chunk, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    excerpt = models.CharField(max_length=300, blank=True, default="")
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["turn", "rank"]
