"""The carriers we speak, by name: the one place that lists the carrier folders.

The carrier-neutral code above the folders looks a carrier up here: the media consumer (serializer, upgrade check,
call control), outbound dialling (calls.outbound) and stream resume (calls.resume). The dependency points one way
only — registry -> `<carrier>/kit.py` -> that folder's modules -> the neutral modules beside this one (base, kit,
common, ...) — because the folders never import the registry: a folder knows nothing of the list it is on, nor of
the other folders. Adding a carrier is one folder with a `kit.py`, and one line here.
"""

from __future__ import annotations

from .browser.kit import KIT as BROWSER
from .kit import CarrierKit
from .telnyx.kit import KIT as TELNYX
from .twilio.kit import KIT as TWILIO

KITS: dict[str, CarrierKit] = {"twilio": TWILIO, "telnyx": TELNYX, "browser": BROWSER}


def kit(carrier: str) -> CarrierKit | None:
    return KITS.get(carrier)
