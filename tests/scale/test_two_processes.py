"""Two daphne processes and a Celery worker on one PostgreSQL and one Redis: live updates cross processes, and the
post-call work runs on the worker."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from automation.webhooks import SIGNATURE_HEADER, verify

from .callers import call
from .seed import SCALE_NUMBER

pytestmark = [pytest.mark.services, pytest.mark.e2e]


@pytest.fixture(scope="module")
def live_call(stack):
    """One call served by process A while a dashboard socket on process B watches the workspace."""
    stack.receiver.answers["/hooks/scale"] = [500]  # the first delivery fails; the retry must succeed

    async def scenario():
        url = f"{stack.b.base_url.replace('http://', 'ws://')}/ws/live/{stack.ids['workspace']}"
        async with websockets.connect(url, additional_headers={"Cookie": f"sessionid={stack.ids['session']}"}) as live:
            hello = json.loads(await asyncio.wait_for(live.recv(), 5))
            updates: list[dict] = []
            goodbye = asyncio.Event()

            async def collect():
                async for message in live:
                    updates.append(update := json.loads(message))
                    if update.get("kind") == "turn" and update["data"].get("text") == "Goodbye.":
                        goodbye.set()

            collector = asyncio.create_task(collect())
            result = await call(stack, stack.a.base_url, SCALE_NUMBER, "What are your opening hours?", "No, goodbye")
            # The last turn's write, and so its group message, may trail the hang-up on a busy machine.
            await asyncio.wait_for(goodbye.wait(), 15)
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)
            return hello, result, updates

    hello, result, updates = asyncio.run(scenario())
    return {"hello": hello, "result": result, "updates": updates}


def test_a_call_served_by_one_process_is_live_on_the_other(stack, live_call):
    assert live_call["hello"] == {"type": "hello", "workspace": stack.ids["workspace"]}
    sid = live_call["result"].call_id
    turns = [u["data"] for u in live_call["updates"]
             if u["type"] == "call.update" and u["call"]["carrier_call_id"] == sid and u["kind"] == "turn"]
    assert [t["index"] for t in turns] == list(range(len(turns))), turns
    caller = " | ".join(t["text"].lower() for t in turns if t["role"] == "caller")
    agent = " | ".join(t["text"] for t in turns if t["role"] == "agent")
    assert "hours" in caller and "bye" in caller, caller
    assert "We open at nine." in agent and "Goodbye." in agent, agent
    # The call itself was served by process A (it is stored; process B only relayed the group messages).
    assert stack.sql("SELECT status FROM calls_call WHERE carrier_call_id = %s", sid) == [("completed",)]


def test_post_call_work_runs_on_the_worker_summary_and_signed_webhook_with_a_retry(stack, live_call):
    sid = live_call["result"].call_id
    (call_id, summary), = stack.wait_for("the summary", lambda: stack.sql(
        "SELECT id, summary FROM calls_call WHERE carrier_call_id = %s AND summary <> ''", sid))
    assert summary.startswith("Caller: ") and "hours" in summary.lower(), summary
    assert stack.sql("SELECT caller_turns, agent_turns FROM automation_callstats WHERE call_id = %s", call_id) == [
        (2, 3)]
    def attempts(event: str) -> list[tuple]:
        return stack.sql("SELECT attempt, status, status_code FROM automation_webhookdelivery WHERE call_id = %s "
                         "AND event = %s ORDER BY attempt", call_id, event)

    # call.started goes first (the stream started) and meets the receiver's one 500: it is retried.
    stack.wait_for("the webhooks delivered", lambda: all(
        (rows := attempts(e)) and rows[-1][1] == "delivered" for e in ("call.started", "call.ended")), timeout=20)
    assert attempts("call.started") == [(1, "retrying", 500), (2, "delivered", 200)]
    assert attempts("call.ended") == [(1, "delivered", 200)]
    received = stack.receiver.at("/hooks/scale")
    assert sorted(r.answered for r in received) == [200, 200, 500]
    for request in received:
        assert verify("s3cret", request.body, request.headers[SIGNATURE_HEADER])
    [event] = [json.loads(r.body) for r in received if json.loads(r.body)["event"] == "call.ended"]
    assert event["event"] == "call.ended" and event["call"]["carrier_call_id"] == sid
    assert event["call"]["summary"] == summary
    # It was the worker process that ran it (daphne processes with a broker never run tasks eagerly).
    log = stack.worker_log.read_text()
    assert "automation.tasks.post_call" in log and "automation.tasks.deliver_call_webhook" in log
