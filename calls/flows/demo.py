"""The demo flow: a receptionist for the fictional "Bright Smile Dental", runnable with no LLM.

Booking (asks for a day and confirms it), opening hours, transfer to a person (words or key 0) and goodbye; after
each answer it asks whether there is anything else. Sentences are short: they are spoken on a phone.
"""

from __future__ import annotations

DEMO_GREETING = "Hello, and thank you for calling Bright Smile Dental."

_BOOKING = {
    "intent": "booking",
    "keywords": [
        "book", "appointment", "schedule", "reserve", "reservation", "slot",
        "cleaning", "checkup", "check up", "see the dentist", "see a dentist", "come in",
    ],
    "next": "booking",
}  # fmt: skip
_HOURS = {
    "intent": "hours",
    "keywords": ["hours", "opening hours", "open", "close", "what time"],
    "next": "hours",
}
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "today", "tomorrow"]

DEMO_FLOW: dict = {
    "id": "bright-smile-demo",
    "name": "Bright Smile Dental receptionist",
    "version": 1,
    "start": "recording_notice",
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
            "reprompt": "Sorry, I didn't catch that. "
            "You can book an appointment, ask about our opening hours, or talk to a person.",
            "routes": [_BOOKING, _HOURS],
        },
        "booking": {
            "type": "ask",
            "text": "Sure, let's book you in. What day works best for you?",
            "reprompt": "Sorry, which day would you like? For example, Monday, or tomorrow.",
            "routes": [{"intent": "booking_day", "keywords": _DAYS, "capture": "day", "next": "booking_confirmed"}],
        },
        "booking_confirmed": {
            "type": "say",
            "text": "Great, I've pencilled you in for {day}. We'll text you to confirm the time.",
            "next": "anything_else",
        },
        "hours": {
            "type": "say",
            "text": "We're open Monday to Friday, 8 am to 6 pm, and Saturday 9 to 1.",
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
        },  # fmt: skip
        "ask_more": {
            "type": "ask",
            "text": "Sure. What can I help you with?",
            "reprompt": "You can book an appointment, ask about our opening hours, or talk to a person.",
            "routes": [_BOOKING, _HOURS],
        },
        "human": {
            "type": "transfer",
            "text": "Of course. Connecting you to our front desk now.",
            "target": "+15550100001",
        },
        "goodbye": {
            "type": "end",
            "text": "Thanks for calling Bright Smile Dental. Goodbye!",
        },
    },
}
