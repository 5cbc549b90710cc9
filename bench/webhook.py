"""Voice webhook load: signed Twilio `/twilio/voice` requests at a fixed rate (open loop), from a separate process.

    python -m bench.webhook SPEC.json OUT.json

Every request is a new call (a fresh CallSid, a valid X-Twilio-Signature computed before the clock starts), so each
one does the real work: signature check, number lookup, admission, the Call row and a stream token. Requests are
sent on a fixed schedule whatever the answers do (open loop: a slow server cannot slow the offered load down), over
a pool of keep-alive connections, on uvloop. Latency = request sent → response read.

The client is a few lines of raw HTTP/1.1 over asyncio streams, each request's bytes built before the clock starts:
httpx cost this process 77 % of a core at 200 requests/s, on the two cores the server under test also needs.
"""

from __future__ import annotations

import asyncio
import resource
import secrets
import time
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from .child import serve


def signed_requests(n: int, base_url: str, auth_token: str, to: str) -> list[tuple[dict, dict]]:
    validator = RequestValidator(auth_token)
    out = []
    for _ in range(n):
        params = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": "AC" + "0" * 32, "From": "+15550199999",
                  "To": to, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        out.append((params, {"X-Twilio-Signature": validator.compute_signature(base_url + "/twilio/voice", params)}))
    return out


KEEPALIVE_EXPIRY_S = 4.0


def request_bytes(host: str, path: str, params: dict, headers: dict) -> bytes:
    body = urlencode(params).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read the status and the body (Content-Length)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.monotonic()

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked = 0, False
        for line in head.split(b"\r\n"):
            name = line.split(b":", 1)[0].lower()
            if name == b"content-length":
                length = int(line[15:])
            elif name == b"transfer-encoding":
                chunked = b"chunked" in line.lower()
        if not chunked:
            await self.reader.readexactly(length)
            return status
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await self.reader.readexactly(size + 2)
            if size == 0:
                return status


async def main(spec: dict) -> dict:
    rate, seconds = spec["rate"], spec["seconds"]
    url = urlsplit(spec["base_url"])
    host = url.netloc
    reqs = [request_bytes(host, "/twilio/voice", p, h)
            for p, h in signed_requests(int(rate * seconds) + 8, spec["base_url"], spec["auth_token"], spec["number"])]
    warm, reqs = reqs[:8], reqs[8:]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    error_kinds: dict[str, int] = {}
    idle: list[Connection] = []

    async def connection() -> Connection:
        while idle:
            conn = idle.pop()
            # Like any keep-alive client (httpx: 5 s): never reuse a connection the server may be closing as idle
            # (uvicorn's keep-alive timeout is 5 s).
            if time.monotonic() - conn.last_used < KEEPALIVE_EXPIRY_S:
                return conn
            conn.writer.close()
        return Connection(*await asyncio.open_connection(url.hostname, url.port))

    async def one(request: bytes) -> None:
        nonlocal errors
        t = time.monotonic()
        try:
            conn = await connection()
            status = await conn.exchange(request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors += 1
            error_kinds[type(exc).__name__] = error_kinds.get(type(exc).__name__, 0) + 1
            return
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append((time.monotonic() - t) * 1000)
        conn.last_used = time.monotonic()
        idle.append(conn)

    # Warm a few connections (not measured).
    await asyncio.gather(*(one(r) for r in warm))
    latencies.clear()
    statuses.clear()
    ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    tasks = []
    for i, request in enumerate(reqs):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request)))
    t_sent = time.monotonic()
    # Bounded: what is not answered within 10 s of the last request being sent counts as unanswered.
    _, pending = await asyncio.wait(tasks, timeout=10.0)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    t1, ru1 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
    for conn in idle:
        conn.writer.close()
    latencies.sort()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"offered_rps": rate, "sent": len(reqs), "completed": len(latencies), "errors": errors,
            "unanswered": len(pending), "error_kinds": error_kinds, "send_s": round(t_sent - t0, 2),
            "statuses": statuses, "achieved_rps": round(len(latencies) / (t1 - t0), 1), "latencies_ms": latencies,
            "client_cpu_pct": round(100 * cpu / (t1 - t0), 1)}


if __name__ == "__main__":
    serve(main)
