"""Page-numbered lists, the shape the first API gave `/api/calls`: `?page=1&page_size=50` ->
`{"count", "page", "pages", "results"}`. A page past the last answers the last page (as the dashboard does)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache

from django.core.paginator import Paginator
from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


class PageQuery(Schema):
    page: int = Field(1, ge=1, description="1-based page number.")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page.")


@cache
def page_of(item: type[Schema]) -> type[Schema]:
    """The page schema whose `results` are `item`s."""
    return create_model(f"{item.__name__}Page", __base__=Schema, count=(int, ...), page=(int, ...),
                        pages=(int, ...), results=(list[item], ...))


def paginate(queryset: QuerySet, query: PageQuery, serialize: Callable = lambda o: o) -> dict:
    paginator = Paginator(queryset, query.page_size)
    page = paginator.get_page(query.page)
    results: Iterable = [serialize(o) for o in page.object_list]
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages, "results": list(results)}
