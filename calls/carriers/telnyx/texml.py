"""The TeXML that connects a call to our media socket.

Built with twilio's `VoiceResponse`, like the answers both carriers share (../voice_xml.py says why: Telnyx's SDK
has no TeXML builder, and TeXML is TwiML's verbs). The stream attributes that matter here (`bidirectionalMode`,
`bidirectionalCodec`, `bidirectionalSamplingRate`) are Telnyx's, not TwiML's: they pass through as keyword
arguments, which the builder writes in lowerCamelCase — exactly Telnyx's names.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from ...models import Carrier
from ..common import stream_url
from .stream_format import StreamFormat


def stream_texml(token: str, fmt: StreamFormat) -> VoiceResponse:
    response = VoiceResponse()
    stream = response.connect().stream(
        url=stream_url(Carrier.TELNYX),
        track="inbound_track",
        codec=fmt.codec,
        # Telnyx plays audio sent back as mp3 unless told otherwise; rtp takes raw frames in bidirectionalCodec.
        bidirectional_mode="rtp",
        bidirectional_codec=fmt.codec,
        bidirectional_sampling_rate=str(fmt.sample_rate),
    )
    # TeXML is TwiML-compatible and Telnyx delivers stream parameters as `start.custom_parameters`; that TeXML
    # accepts `<Parameter>` inside `<Stream>` is not confirmed in Telnyx's reference (PROTOCOLS.md: not
    # verified), and TeXML offers no other per-stream field. L16 as a TeXML codec is likewise unverified; the
    # Call Control API lists it (use /telnyx/events for wideband if TeXML refuses it).
    stream.parameter(name="token", value=token)
    # Reached only when our server closes the stream: that is how a TeXML call ends without REST credentials.
    response.hangup()
    return response
