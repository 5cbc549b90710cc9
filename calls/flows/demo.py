"""The demo flow: a receptionist for the fictional "Bright Smile Dental", runnable with no LLM.

Booking (a day, a time within opening hours — confirmed — and a name, by voice or keypad), answers from the
practice's knowledge base (opening hours, insurance, parking...; fixed opening hours when there is no knowledge
base), warm transfer to the front desk (words or key 0) and goodbye; after each answer it asks whether there is
anything else. Sentences are short: they are spoken on a phone. Keypad options are offered when the caller is
silent or not understood, so voice callers are not slowed down by menus.
"""

from __future__ import annotations

DEMO_GREETING = "Hello, and thank you for calling Bright Smile Dental."

_BOOKING = {
    "intent": "booking",
    "keywords": [
        "book", "appointment", "schedule", "reserve", "reservation", "slot",
        "cleaning", "checkup", "check up", "see the dentist", "see a dentist", "come in",
    ],
    "examples": ["I need to get my teeth looked at", "I have a toothache and need to come in"],
    "dtmf": "1",
    "next": "booking",
}  # fmt: skip
_HOURS = {
    "intent": "hours",
    "keywords": ["hours", "opening hours", "open", "close", "what time"],
    "dtmf": "2",
    "next": "hours",
}
_KEYS = "Or press 1 to book, 2 for our hours, or 0 for a person."

# The practice's information, seeded as the demo agent's knowledge base (`seed_demo`).
DEMO_KNOWLEDGE_TITLE = "Practice information"
DEMO_KNOWLEDGE = """# Bright Smile Dental

## Opening hours
We're open Monday to Friday, 8 am to 6 pm, and Saturday 9 to 1. We're closed on Sundays and public holidays.

## Insurance and payment
We accept most major dental insurance plans, including Delta Dental, Cigna and Aetna. Without insurance, a checkup
and cleaning costs 120 dollars. We take cash and all major credit cards.

## Location and parking
We're at 42 Harbor Street, next to the public library. There is free parking behind the building.

## New patients
New patients are always welcome. For your first visit, please arrive ten minutes early to fill in a short health
form, and bring your insurance card and a photo ID.

## Emergencies
If you have severe pain, swelling or a broken tooth, call us as early as possible: we keep same-day slots for
emergencies. Outside opening hours, call the emergency dental line at 555 0100.

## Cancellations
Please give us at least 24 hours notice if you need to cancel or move an appointment.
"""

DEMO_FLOW: dict = {
    "id": "bright-smile-demo",
    "name": "Bright Smile Dental receptionist",
    "version": 2,
    "start": "recording_notice",
    "timezone": "America/New_York",
    "default_reprompt": "Sorry, I didn't catch that.",
    "no_input_goodbye": "I'm sorry, I can't hear you. Please call us back any time. Goodbye!",
    "global_routes": [
        {
            "intent": "goodbye",
            "keywords": ["bye", "goodbye", "that's all", "no thanks", "no thank you", "nothing else", "hang up"],
            "next": "goodbye",
        },
        {
            "intent": "human",
            "keywords": [
                "human", "person", "agent", "operator", "receptionist", "talk to someone",
                "speak to someone", "speak with someone", "press 0", "press zero", "option 0",
            ],
            "dtmf": "0",
            "next": "human",
        },
    ],  # fmt: skip
    "nodes": {
        "recording_notice": {
            "type": "say",
            "text": "This call may be recorded for quality purposes.",
            "uninterruptible": True,
            "next": "ask_help",
        },
        "ask_help": {
            "type": "ask",
            "text": "How can I help you today?",
            "reprompt": f"Sorry, I didn't catch that. You can book an appointment, or ask me a question. {_KEYS}",
            "routes": [_BOOKING, _HOURS],
            "fallback": "faq",
        },
        # ---- booking: day, time (confirmed), name
        "booking": {
            "type": "collect",
            "slot": "day",
            "kind": "date",
            "text": "Sure, let's book you in. What day works best for you?",
            "reprompt": "Which day would you like? Say a day, or press 1 for tomorrow.",
            "invalid": "Sorry, which day would you like? For example, Monday, or tomorrow.",
            "out_of_range": "Sorry, we book up to three months ahead. Which day would you like?",
            "max_days_ahead": 90,
            "dtmf_choices": {"1": "tomorrow"},
            "next": "day_noted",
        },
        "day_noted": {
            "type": "say",
            "text": "Great, I've pencilled you in for {day}.",
            "next": "ask_time",
        },
        "ask_time": {
            "type": "collect",
            "slot": "time",
            "kind": "time",
            "text": "What time suits you?",
            "reprompt": "What time suits you? Or press 1 for 9 am, 2 for noon, or 3 for 3 pm.",
            "invalid": "Sorry, what time would you like? For example, 10 am, or 3 pm.",
            "out_of_range": "Sorry, we see patients from 8 am to 6 pm. What time would suit you?",
            "min": "08:00",
            "max": "17:30",
            "dtmf_choices": {"1": "9 am", "2": "noon", "3": "3 pm"},
            "confirm": "So that's {day} at {time}, right?",
            "on_deny": "booking_again",
            "next": "ask_name",
        },
        "booking_again": {
            "type": "collect",
            "slot": "day",
            "kind": "date",
            "text": "No problem. Which day would you like instead?",
            "reprompt": "Which day would you like? Say a day, or press 1 for tomorrow.",
            "invalid": "Sorry, which day would you like? For example, Monday, or tomorrow.",
            "out_of_range": "Sorry, we book up to three months ahead. Which day would you like?",
            "max_days_ahead": 90,
            "dtmf_choices": {"1": "tomorrow"},
            "next": "day_noted",
        },
        "ask_name": {
            "type": "collect",
            "slot": "name",
            "kind": "name",
            "text": "And what name should I put the booking under?",
            "invalid": "Sorry, I didn't catch your name. Could you say it again?",
            "next": "booked",
        },
        "booked": {
            "type": "say",
            "text": "You're booked in, {name}. See you {day} at {time}.",
            "next": "anything_else",
        },
        # ---- questions: the knowledge base, with the opening hours as a fixed answer when it has nothing
        "hours": {"type": "answer", "fallback": "hours_fixed", "next": "anything_else"},
        "hours_fixed": {
            "type": "say",
            "text": "We're open Monday to Friday, 8 am to 6 pm, and Saturday 9 to 1.",
            "next": "anything_else",
        },
        "faq": {
            "type": "answer",
            "not_found": "Sorry, I don't know that one. I can book an appointment, or put you through to a person.",
            "next": "anything_else",
        },
        "anything_else": {
            "type": "ask",
            "text": "Is there anything else I can help you with?",
            "reprompt": "Sorry, I didn't catch that. Is there anything else I can help you with?",
            "routes": [
                _BOOKING,
                _HOURS,
                {"intent": "goodbye", "keywords": ["no", "nope", "nothing", "that's it", "i'm good", "i'm fine",
                                                   "all good", "thanks", "thank you"], "next": "goodbye"},
                {"intent": "more", "keywords": ["yes", "yeah", "yep", "sure", "please", "actually"],
                 "next": "ask_more"},
            ],
            "fallback": "faq",
        },  # fmt: skip
        "ask_more": {
            "type": "ask",
            "text": "Sure. What can I help you with?",
            "reprompt": f"You can book an appointment, or ask me a question. {_KEYS}",
            "routes": [_BOOKING, _HOURS],
            "fallback": "faq",
        },
        "human": {
            "type": "transfer",
            "text": "Of course. Connecting you to our front desk now.",
            "target": "+15550100001",
            "mode": "warm",
        },
        "goodbye": {
            "type": "end",
            "text": "Thanks for calling Bright Smile Dental. Goodbye!",
        },
    },
}
