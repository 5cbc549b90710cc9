"""An agent's knowledge base: the documents it answers from, upload and removal."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from calls.models import Agent
from knowledge.extract import MAX_BYTES
from knowledge.ingest import DocumentError, add_document
from knowledge.models import Document

from ..workspace import WorkspaceMixin


class UploadForm(forms.Form):
    file = forms.FileField(help_text=f"Text, Markdown, HTML or PDF, up to {MAX_BYTES // (1024 * 1024)} MB.")
    title = forms.CharField(max_length=200, required=False, help_text="Default: the file name.")


class KnowledgeView(WorkspaceMixin, View):
    """GET: the agent's documents and the upload form. POST: upload a file, or `delete` a document by id."""

    def get_agent(self, pk: int) -> Agent:
        return get_object_or_404(Agent, pk=pk, workspace=self.workspace)

    def get(self, request, pk: int):
        agent = self.get_agent(pk)
        return self.render_page(request, agent, UploadForm())

    def post(self, request, pk: int):
        agent = self.get_agent(pk)
        if "delete" in request.POST:
            document = get_object_or_404(Document, pk=request.POST["delete"], agent=agent, workspace=self.workspace)
            document.delete()
            messages.success(request, f"“{document.title}” removed from the knowledge base.")
            return redirect("dashboard:agent-knowledge", pk=agent.pk)
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(request, agent, form, status=400)
        upload = form.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            form.add_error("file", f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
            return self.render_page(request, agent, form, status=400)
        try:
            document = add_document(agent, upload.read(), filename=upload.name, title=form.cleaned_data["title"])
        except DocumentError as exc:
            form.add_error("file", str(exc))
            return self.render_page(request, agent, form, status=400)
        count = document.chunks.count()
        messages.success(request, f"“{document.title}” added: {count} passage{'s' if count != 1 else ''} indexed.")
        return redirect("dashboard:agent-knowledge", pk=agent.pk)

    def render_page(self, request, agent: Agent, form: UploadForm, status: int = 200):
        documents = Document.objects.filter(agent=agent, workspace=self.workspace).annotate(chunk_count=Count("chunks"))
        context = {"agent": agent, "documents": documents, "form": form, "nav": "agents"}
        return render(request, "dashboard/agents/knowledge.html", context, status=status)
