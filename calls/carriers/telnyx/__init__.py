"""Telnyx: media streaming (media.py, with its reordering), TeXML and Call Control webhooks (webhooks.py, texml.py),
Call Control REST (control.py, outbound.py), dialling out (outbound_hooks.py) and warm transfers. `kit.py` is what
the carrier-neutral code sees of it; `urls.py` its routes under /telnyx/."""
