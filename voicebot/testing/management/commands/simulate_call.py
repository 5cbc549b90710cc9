"""Play the carrier: sign the webhook, follow the TwiML/TeXML, open the stream and talk in real time."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import wave
from dataclasses import asdict

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls.export import call_as_dict
from calls.models import Call
from calls.pipeline.audio import resample
from voicebot.testing.carrier.caller import SimulatedCaller, Step
from voicebot.testing.carrier.peers import PEERS, SimulationError

BARGE_AFTER_MS = 700


class _StepAction(argparse.Action):
    """Keeps --say, --barge-in, --wav and --dtmf in the order given on the command line."""

    def __call__(self, parser, namespace, value, option_string=None):
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest, value))
        namespace.steps = steps


def wav_audio(path: str, rate: int) -> bytes:
    try:
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise CommandError(f"{path}: need 16-bit mono WAV")
            return resample(w.readframes(w.getnframes()), w.getframerate(), rate)
    except (OSError, wave.Error) as exc:
        raise CommandError(f"{path}: {exc}") from exc


class Command(BaseCommand):
    help = "Simulate a caller on a carrier against a running voicebot server."

    def add_arguments(self, parser):
        parser.add_argument("--carrier", default="twilio", choices=sorted(PEERS))
        parser.add_argument("--base-url", default=None, help="Server to call (default http://127.0.0.1:$PORT)")
        parser.add_argument("--to", default=settings.DEMO_NUMBER)
        parser.add_argument("--from", dest="from_number", default="+15550199999")
        parser.add_argument("--say", action=_StepAction, dest="say", metavar="TEXT", help="Speak after the agent (repeatable)")
        parser.add_argument("--barge-in", action=_StepAction, dest="barge", metavar="TEXT",
                            help=f"Speak over the agent's reply, {BARGE_AFTER_MS} ms into it")
        parser.add_argument("--wav", action=_StepAction, dest="wav", metavar="FILE", help="Speak a 16-bit mono WAV")
        parser.add_argument("--dtmf", action=_StepAction, dest="dtmf", metavar="DIGIT", help="Press a key")
        parser.add_argument("--codec", default=None, help="Codec the carrier offers (Telnyx: PCMU, PCMA, L16)")
        parser.add_argument("--rate", type=int, default=None, help="Sample rate the carrier offers (Telnyx L16: 16000)")
        parser.add_argument("--shuffle", type=int, default=0, help="Telnyx: reorder frames within this window")
        parser.add_argument("--voice", default="piper-joe",
                            help="Caller voice: piper-joe (default: a natural voice), kokoro-<speaker> (an accented "
                            "one, e.g. kokoro-jm_kumo) or espeak (the robot voice)")
        parser.add_argument("--noise-snr", type=float, default=None,
                            help="Mix background noise under the caller's speech at this SNR in dB")
        parser.add_argument("--noise", default="pink", choices=("pink", "babble"), help="The background noise")
        parser.add_argument("--json", action="store_true", help="Machine-readable output")
        parser.add_argument("--timeout", type=float, default=settings.SIMULATOR_TIMEOUT_S)

    def handle(self, *args, **opts):
        base = opts["base_url"] or f"http://127.0.0.1:{settings.PORT}"
        peer_kwargs = {}
        for key in ("codec", "rate", "shuffle"):
            if opts[key]:
                peer_kwargs[key] = opts[key]
        try:
            peer = PEERS[opts["carrier"]](base, opts["to"], opts["from_number"], **peer_kwargs)
        except TypeError as exc:
            raise CommandError(f"--codec/--rate/--shuffle are not supported for {opts['carrier']}: {exc}") from exc
        steps = []
        voice = {"noise_snr_db": opts["noise_snr"], "noise": opts["noise"]}
        if opts["voice"]:
            voice["voice"] = opts["voice"]
        try:
            for kind, value in opts.get("steps") or []:
                if kind == "say":
                    steps.append(Step.spoken(value, peer.sample_rate, **voice))
                elif kind == "barge":
                    steps.append(Step.spoken(value, peer.sample_rate, barge_after_ms=BARGE_AFTER_MS, **voice))
                elif kind == "wav":
                    steps.append(Step(text=f"[{value}]", pcm=wav_audio(value, peer.sample_rate)))
                elif kind == "dtmf":
                    steps.append(Step(digit=value))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        caller = SimulatedCaller(peer, steps, timeout_s=opts["timeout"])
        try:
            result = asyncio.run(caller.run())
        except (SimulationError, OSError) as exc:
            raise CommandError(f"call failed: {exc}") from exc
        record = self._stored_call(opts["carrier"], result.call_id)
        if opts["json"]:
            self.stdout.write(json.dumps({"simulated": asdict(result), "call": record}, indent=2, default=str))
            return
        self._print(result, record)

    def _stored_call(self, carrier: str, call_id: str) -> dict | None:
        # The server writes the call's end as the stream closes; give it a moment to land.
        deadline = time.monotonic() + 5
        while True:
            call = Call.objects.filter(carrier=carrier, carrier_call_id=call_id).first()
            if call is None or call.status == Call.Status.COMPLETED or time.monotonic() > deadline:
                return call_as_dict(call) if call else None
            time.sleep(0.1)

    def _print(self, result, record) -> None:
        self.stdout.write(f"call {result.call_id}: greeting after {result.greeting_ms} ms; ended by {result.closed_by}")
        for turn in result.turns:
            extra = f" (barge-in: clear after {turn.clear_ms} ms, {turn.frames_after_clear} frames after clear)" if turn.barge_in else ""
            self.stdout.write(f"  caller said {turn.text!r}: reply after {turn.latency_ms} ms{extra}")
        if record is None:
            self.stdout.write("  (call not found in this database; is the server using another one?)")
            return
        self.stdout.write("transcript:")
        for turn in record["turns"]:
            cut = f"  [interrupted; heard: {turn['heard_text']!r}]" if turn["interrupted"] else ""
            e2e = turn["metrics"]["end_to_end_ms"] if turn["metrics"] else None
            lat = f"  ({e2e} ms)" if e2e is not None else ""
            self.stdout.write(f"  {turn['role']:>6}: {turn['text']}{cut}{lat}")
