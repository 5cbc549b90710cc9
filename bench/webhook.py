"""Voice webhook load: signed Twilio `/twilio/voice` requests at a fixed rate (open loop), from a separate process.

    python -m bench.webhook SPEC.json OUT.json

Every request is a new call (a fresh CallSid, a valid X-Twilio-Signature computed before the clock starts), so each
one does the real work: signature check, number lookup, admission, the Call row and a stream token. Requests are
sent on a fixed schedule whatever the answers do (open loop: a slow server cannot slow the offered load down), over
a pool of keep-alive connections, on uvloop. Latency = request sent → response read.
"""

from __future__ import annotations

import asyncio
import json
import resource
import secrets
import sys
import time

from twilio.request_validator import RequestValidator


def signed_requests(n: int, base_url: str, auth_token: str, to: str) -> list[tuple[dict, dict]]:
    validator = RequestValidator(auth_token)
    out = []
    for _ in range(n):
        params = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": "AC" + "0" * 32, "From": "+15550199999",
                  "To": to, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        out.append((params, {"X-Twilio-Signature": validator.compute_signature(base_url + "/twilio/voice", params)}))
    return out


async def main(spec: dict) -> dict:
    import httpx

    rate, seconds = spec["rate"], spec["seconds"]
    reqs = signed_requests(int(rate * seconds), spec["base_url"], spec["auth_token"], spec["number"])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    limits = httpx.Limits(max_connections=spec.get("connections", 64), max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=spec["base_url"], timeout=10, limits=limits) as client:

        async def one(params, headers):
            nonlocal errors
            t = time.monotonic()
            try:
                resp = await client.post("/twilio/voice", data=params, headers=headers)
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                latencies.append((time.monotonic() - t) * 1000)
            except httpx.HTTPError:
                errors += 1

        # Warm the connection pool (not measured).
        warm = signed_requests(8, spec["base_url"], spec["auth_token"], spec["number"])
        await asyncio.gather(*(client.post("/twilio/voice", data=p, headers=h) for p, h in warm))
        ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        tasks = []
        for i, (params, headers) in enumerate(reqs):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(params, headers)))
        t_sent = time.monotonic()
        # Bounded: what is not answered within 10 s of the last request being sent counts as unanswered.
        _, pending = await asyncio.wait(tasks, timeout=10.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        t1, ru1 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"offered_rps": rate, "sent": len(reqs), "completed": len(latencies), "errors": errors,
            "unanswered": len(pending), "send_s": round(t_sent - t0, 2),
            "statuses": statuses, "achieved_rps": round(len(latencies) / (t1 - t0), 1), "latencies_ms": latencies,
            "client_cpu_pct": round(100 * cpu / (t1 - t0), 1)}


def run(spec: dict) -> dict:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main(spec))
    return uvloop.run(main(spec))


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        spec_in = json.load(fh)
    result = run(spec_in)
    with open(sys.argv[2], "w") as fh:
        json.dump(result, fh)
