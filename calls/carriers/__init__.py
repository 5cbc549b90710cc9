"""The carrier edge: everything that speaks a carrier's wire format or API.

One folder per carrier — twilio/, telnyx/, browser/ — each with its media serializer, webhooks, call control
(REST), outbound hooks and routes; the folders never import each other. Beside them, the carrier-neutral parts
they build on: base.py (the serializer skeleton and carrier events), kit.py (what a folder hands the neutral code),
common.py (URLs, call admission at the webhook, status callbacks), dialled.py (the row of a call we dialled),
voice_xml.py (answers TwiML and TeXML share), transfer.py / warm_transfer.py (SIP header rules, the signed
whisper), rest_errors.py. Above the folders, registry.py lists them for the code that picks a carrier by name
(calls.consumers, calls.outbound, calls.resume).
"""
