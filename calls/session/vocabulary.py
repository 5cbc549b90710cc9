"""The words one call expects, for the recogniser (`calls.providers.stt.vocabulary` says how each STT takes them).

Gathered from what the call already knows, most telling first (Whisper's prompt keeps only the first ~40 words):
the agent's custom vocabulary, the business (agent) name, names from the caller's record (the call's variables:
a campaign contact, a CRM lookup), the knowledge base's titles, headings and proper names ("Delta Dental",
"Harbor Street"), then the flow's keywords and choice values. `call_vocabulary` is blocking (it reads the knowledge
base): run it on the database thread; `build_vocabulary` is the same from sources already at hand.
"""

from __future__ import annotations

import re

from ..providers.stt.vocabulary import clean_terms, split_custom_vocabulary

#: Call variables whose values are names worth hearing right ("first_name", "caller_name", "doctor"...).
_NAME_KEY = re.compile(r"name|doctor|dentist|provider|company|business|contact", re.IGNORECASE)
_CAPITALISED_RUN = re.compile(r"\b(?:(?:Dr|Mr|Mrs|Ms|St)\.[ \t]+)?[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:#\n])[\s\"'(*-]*$")
_COMMON_CAPITALS = {"I", "We", "We're", "You", "If", "For", "Outside", "Please", "The", "Our", "New", "Without"}
MAX_KNOWLEDGE_TERMS = 30


def call_vocabulary(agent, call=None) -> list[str]:
    """The call's recognition hints, most important first (see the module docstring)."""
    from knowledge.models import Chunk, Document

    titles = list(Document.objects.filter(agent=agent).values_list("title", flat=True))
    chunks = list(Chunk.objects.filter(agent=agent).order_by("document_id", "index").values_list("heading", "text"))
    return build_vocabulary(name=agent.name, custom=getattr(agent, "custom_vocabulary", ""),
                            caller=getattr(call, "variables", None) or {}, knowledge_titles=titles,
                            knowledge_chunks=chunks, flow=agent.flow or {})


def build_vocabulary(*, name: str, custom: str = "", caller: dict | None = None, knowledge_titles=(),
                     knowledge_chunks=(), flow: dict | None = None) -> list[str]:
    """The hints from their sources (`knowledge_chunks`: (heading, text) pairs), most important first."""
    terms: list[str] = []
    terms += split_custom_vocabulary(custom)
    terms.append(name)
    terms += caller_record_names(caller or {})
    terms += knowledge_terms(knowledge_titles, knowledge_chunks)
    terms += flow_terms(flow or {})
    return clean_terms(terms)


def caller_record_names(variables: dict) -> list[str]:
    return [str(v) for k, v in variables.items() if isinstance(v, str) and _NAME_KEY.search(str(k)) and v.strip()]


def knowledge_terms(titles, chunks) -> list[str]:
    """Titles, proper names and headings of a knowledge base (its first MAX_KNOWLEDGE_TERMS); names before
    headings, because names are what a recogniser gets wrong."""
    names: list[str] = []
    headings: list[str] = []
    for heading, text in chunks:
        headings += heading.split(" > ")  # a chunk's heading is its path of section titles
        names += proper_names(text)
    return clean_terms([*titles, *names, *headings], MAX_KNOWLEDGE_TERMS)


def proper_names(text: str) -> list[str]:
    """Runs of capitalised words that do not open a sentence or a heading: proper names ("Delta Dental")."""
    names = []
    for match in _CAPITALISED_RUN.finditer(text):
        if _SENTENCE_START.search(text[max(0, match.start() - 4) : match.start()]) or match[0] in _COMMON_CAPITALS:
            continue
        names.append(match[0])
    return names


def flow_terms(flow: dict) -> list[str]:
    """Every route's keywords and every node's choice values, in the flow's order."""
    terms: list[str] = []
    nodes = flow.get("nodes") if isinstance(flow.get("nodes"), dict) else {}
    routes = list(flow.get("global_routes") or [])
    for node in nodes.values():
        if not isinstance(node, dict):
            continue
        routes += node.get("routes") or []
        for key in ("dtmf_choices",):
            if isinstance(node.get(key), dict):
                terms += [str(v) for v in node[key].values()]
        for key in ("choices", "options", "values"):
            if isinstance(node.get(key), list):
                terms += [str(v) for v in node[key] if isinstance(v, (str, int))]
    for route in routes:
        if isinstance(route, dict):
            terms += [str(k) for k in route.get("keywords") or []]
    return terms
