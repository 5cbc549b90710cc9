import asyncio, pytest, logging
from calls.models import CallEvent, Turn
from tests.faults.test_provider_faults import scripted_backup_stt, _deepgram_mute  # noqa
from tests.faults.cloud_call import cloud_agent, new_call, run_call

@pytest.mark.django_db(transaction=True)
def test_dbg(settings, caplog):
    caplog.set_level(logging.DEBUG, logger="calls")
    call, token = new_call(cloud_agent())
    line = asyncio.run(run_call(settings, token, fault=_deepgram_mute))
    print("GAPS", line.gaps)
    print(list(Turn.objects.filter(call=call).order_by("index").values_list("index", "role", "text", "started_at", "ended_at")))
    print(list(CallEvent.objects.filter(call=call).values_list("kind", "detail", "at")))
    for r in caplog.records:
        if r.name.startswith("calls"): print("LOG", r.created, r.name, r.getMessage()[:200])
