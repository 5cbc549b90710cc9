"""Print the URLs to paste into the carrier consoles, and whether signatures are set up."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from calls.carriers.common import public_url, stream_url


class Command(BaseCommand):
    help = "Show the webhook URLs for each carrier."

    def handle(self, *args, **opts):
        base = settings.PUBLIC_BASE_URL
        lines = [
            f"voicebot on http://127.0.0.1:{settings.PORT} — public base URL {base}",
            "Twilio (Phone Number → Voice → 'A call comes in', HTTP POST):",
            f"  voice webhook   {public_url('/twilio/voice')}",
            f"  status callback {public_url('/twilio/status')}",
            f"  media stream    {stream_url('twilio')} (set by the TwiML; nothing to paste)",
            "  signatures: " + ("checked with TWILIO_AUTH_TOKEN" if settings.TWILIO_CREDENTIALS_ARE_REAL
                                else "checked with a generated local token (set TWILIO_AUTH_TOKEN for real calls)"),
            "Telnyx (TeXML application → Voice URL, HTTP POST):",
            f"  voice webhook   {public_url('/telnyx/texml')}",
            f"  status callback {public_url('/telnyx/status')}",
            f"  call control    {public_url('/telnyx/events')}",
            "  signatures: " + ("checked with TELNYX_PUBLIC_KEY" if settings.TELNYX_CREDENTIALS_ARE_REAL
                                else "checked with a generated local Ed25519 key (set TELNYX_PUBLIC_KEY for real calls)"),
        ]
        if base.startswith("http://127.0.0.1"):
            lines.append("Set PUBLIC_BASE_URL to your public https URL (e.g. a tunnel) before pointing a real number here.")
        self.stdout.write("\n".join(lines))
