"""A call's recording, streamed to the call page's <audio> player with HTTP Range support.

Browsers seek in media by asking for byte ranges; without `206 Partial Content` an <audio> element cannot jump to
a turn (and `django.views.static.serve` answers every Range request with the whole file). One range per request,
which is all media elements ask for; anything else gets the whole file, as RFC 9110 allows.

The file is read in chunks, never whole: under daphne (ASGI) through an async generator that reads in a thread
(Django would otherwise buffer a sync iterator completely before sending it), under WSGI with a plain generator.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.views import View

from calls.models import Call

from ..workspace import WorkspaceMixin

CHUNK = 256 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def recording_file(call: Call) -> Path | None:
    """The recording's file if it exists and really is under MEDIA_ROOT (the path is data: never trust it)."""
    if not call.recording:
        return None
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / call.recording).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) byte of a single satisfiable range; None if unsatisfiable; False to ignore the header."""
    match = _RANGE.match(header or "")
    if not match or (not match[1] and not match[2]):
        return False  # malformed, or several ranges: serve the whole file
    if not match[1]:  # "-N": the last N bytes
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            return None
        return max(0, size - suffix), size - 1
    first = int(match[1])
    if match[2] and int(match[2]) < first:
        return False  # syntactically invalid: ignore it
    if first >= size:
        return None
    last = int(match[2]) if match[2] else size - 1
    return first, min(last, size - 1)


class CallRecordingView(WorkspaceMixin, View):
    def get(self, request, pk: int):
        call = get_object_or_404(Call, pk=pk, workspace=self.workspace)
        path = recording_file(call)
        if path is None:
            raise Http404("This call has no recording.")
        size = path.stat().st_size
        span = parse_range(request.headers.get("Range", ""), size) if "Range" in request.headers else False
        if span is None:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return _common(response)
        first, last = span if span else (0, size - 1)
        length = max(0, last - first + 1)
        reader = _read_async if isinstance(request, ASGIRequest) else _read
        response = StreamingHttpResponse(reader(path, first, length), content_type="audio/wav",
                                         status=206 if span else 200)
        response["Content-Length"] = str(length)
        if span:
            response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Disposition"] = f'inline; filename="call-{call.pk}.wav"'
        return _common(response)


def _common(response: HttpResponse) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    # A recording is personal data: no shared cache keeps it, and the browser asks again each time.
    response["Cache-Control"] = "private, no-store"
    return response


def _read(path: Path, offset: int, length: int):
    with path.open("rb") as f:
        f.seek(offset)
        while length > 0:
            chunk = f.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


async def _read_async(path: Path, offset: int, length: int):
    f = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(f.seek, offset)
        while length > 0:
            chunk = await asyncio.to_thread(f.read, min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        f.close()
