"""Twilio: Media Streams (media.py), voice webhooks and TwiML (webhooks.py, twiml.py), REST on live calls
(control.py), dialling out (outbound.py, outbound_hooks.py), stream resume (resume.py) and warm transfers.
`kit.py` is what the carrier-neutral code sees of it; `urls.py` its routes under /twilio/."""
