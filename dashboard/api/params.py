"""Query parameters: page-numbered lists, the shape the first API gave `/api/calls` (`?page=1&page_size=50` ->
`{"count", "page", "pages", "results"}`; a page past the last answers the last page, as the dashboard does),
unknown parameters refused, days as YYYY-MM-DD."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from django.core.paginator import Paginator
from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import BeforeValidator, ValidationInfo, create_model, field_validator

from .errors import invalid

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


def reject_unknown_params(request, *schemas: type[Schema]) -> None:
    """A misspelt filter (`?stauts=failed`) must not silently answer everything: unknown query parameters are a
    400 naming them, as unknown body fields are."""
    known = {name for schema in schemas for name in schema.model_fields}
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise invalid({name: ["Unknown query parameter."] for name in unknown})


def _iso_day(value):
    # pydantic would also take `0` or `1700000000` (a Unix time) for a date: the API documents YYYY-MM-DD only.
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("Use a date as YYYY-MM-DD.")
    return value


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
Day = Annotated[date, BeforeValidator(_iso_day)]

# An id the databases can hold (64-bit): a larger one is a 400 here instead of an OverflowError in the query.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


def foreign_id(name: str, description: str, **kwargs):
    """A foreign key shown as `name`, holding the id (ninja's own would be `name_id` in the document only)."""
    return Field(validation_alias=f"{name}_id", description=description, **kwargs)


def _is_number(annotation) -> bool:
    if get_origin(annotation) is Annotated:
        return _is_number(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_number(arg) for arg in get_args(annotation))
    return annotation in (int, float)


def _only_numbers_for_numbers(cls, value, info: ValidationInfo):
    # pydantic's lax mode reads JSON `false` as 0 and "5" as 5 for an int field; the OpenAPI document says
    # integer, and a client sending true/false or a string for a count has made a mistake worth a 400.
    if isinstance(value, bool | str) and _is_number(cls.model_fields[info.field_name].annotation):
        raise ValueError("Expected a number.")
    return value


def numbers_are_numbers():
    """In a JSON body schema's class body: `_numbers = numbers_are_numbers()` (not for form bodies: every form
    value is a string)."""
    return field_validator("*", mode="before")(_only_numbers_for_numbers)
