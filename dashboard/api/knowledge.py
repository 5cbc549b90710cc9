"""Knowledge documents: upload a file to an agent's knowledge base, list, read, delete.

Extraction and chunking are the dashboard's (`knowledge.ingest.add_document`): text, Markdown, HTML or PDF.
"""

from __future__ import annotations

from django.db.models import Count
from ninja import Field, File, Form, ModelSchema, Query, Router, Schema, Status
from ninja.files import UploadedFile

from calls.models import Agent
from knowledge.extract import MAX_BYTES
from knowledge.ingest import DocumentError, add_document
from knowledge.models import Document

from .auth import AGENTS_WRITE, READ
from .errors import ApiError, invalid, not_found
from .params import Id, PageQuery, foreign_id, page_of, paginate, reject_unknown_params

router = Router(tags=["knowledge"])


class DocumentOut(ModelSchema):
    agent: int = foreign_id("agent", "The id of the agent whose knowledge base holds it.")
    chunks: int = Field(description="Passages indexed for search.")

    class Meta:
        model = Document
        exclude = ["workspace", "agent", "text"]

    @staticmethod
    def resolve_chunks(document: Document) -> int:
        counted = getattr(document, "chunk_count", None)  # lists annotate it: one query per page, not per row
        return document.chunks.count() if counted is None else counted


class DocumentDetail(DocumentOut):
    text: str = Field(description="The extracted text, headings marked with #.")


class DocumentFilters(Schema):
    agent: Id | None = Field(None, description="Only this agent's documents.")


class UploadIn(Schema):
    title: str = Field("", max_length=200, description="Default: the file name.")


def owned_document(request, pk: int) -> Document:
    document = Document.objects.filter(pk=pk, workspace=request.workspace).first()
    if document is None:
        raise not_found("document")
    return document


@router.get("/documents", response=page_of(DocumentOut), summary="List knowledge documents", **READ)
def list_documents(request, filters: Query[DocumentFilters], paging: Query[PageQuery]):
    reject_unknown_params(request, DocumentFilters, PageQuery)
    documents = Document.objects.filter(workspace=request.workspace).annotate(chunk_count=Count("chunks"))
    documents = documents.order_by("title", "pk")
    if filters.agent is not None:
        documents = documents.filter(agent_id=filters.agent)
    return paginate(documents, paging)


@router.post("/agents/{int:pk}/documents", response={201: DocumentDetail},
             summary="Upload a document to an agent's knowledge base", **AGENTS_WRITE)
def upload(request, pk: int, file: File[UploadedFile], payload: Form[UploadIn]):
    """multipart/form-data: `file` (text, Markdown, HTML or PDF) and an optional `title`."""
    agent = Agent.objects.filter(pk=pk, workspace=request.workspace).first()
    if agent is None:
        raise not_found("agent")
    if file.size > MAX_BYTES:
        raise ApiError(413, "payload_too_large", f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        document = add_document(agent, file.read(), filename=file.name or "", title=payload.title)
    except DocumentError as exc:
        raise invalid({"file": [str(exc)]}, str(exc)) from exc
    return Status(201, document)


@router.get("/documents/{int:pk}", response=DocumentDetail, summary="One document, with its text", **READ)
def get_document(request, pk: int):
    return owned_document(request, pk)


@router.delete("/documents/{int:pk}", response={204: None}, summary="Remove a document from the knowledge base",
               **AGENTS_WRITE)
def delete_document(request, pk: int):
    owned_document(request, pk).delete()
    return Status(204, None)
