"""Prompt-first agents to start from: the field values of a new agent ("New agent from template" in the
dashboard). Each is a valid agent as it stands (`tests/dashboard/test_agent_templates.py` saves every one), and
is meant to be edited: the business name, hours and numbers are placeholders in the prompt or its variables.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AgentTemplate:
    key: str
    title: str
    description: str
    fields: dict = field(default_factory=dict)


_COMMON = {"llm_provider": "openai", "llm_model": "gpt-4o-mini", "llm_temperature": 0.4, "end_call_enabled": True}

TEMPLATES = [
    AgentTemplate(
        "receptionist", "Front desk",
        "Answers the phone for a small business: hours, directions, questions, messages, a transfer to a person.",
        {**_COMMON,
         "name": "Receptionist",
         "variable_defaults": {"business_name": "Acme Dental", "opening_hours": "Monday to Friday, 9am to 5pm"},
         "greeting": "Thanks for calling {{business_name}}, how can I help you today?",
         "system_prompt": (
             "You are the receptionist of {{business_name}}. Today is {{weekday}}, {{date}}.\n"
             "Opening hours: {{opening_hours}}.\n\n"
             "- Answer questions about the business briefly; if you do not know, say so and offer to take a message.\n"
             "- To take a message, ask for the caller's name and what it is about; the number they call from is "
             "{{caller_number}}, confirm it is the best one to call back.\n"
             "- If the caller asks for a person, transfer them.\n"
             "- Never make up prices, diagnoses or appointments."),
         "transfer_targets": {"front desk": "+15550100"},
         "analysis_schema": [
             {"name": "reason", "type": "enum", "description": "Why the caller called.",
              "choices": ["question", "appointment", "message", "complaint", "other"]},
             {"name": "caller_name", "type": "text", "description": "The caller's name, if they said it."},
             {"name": "callback_wanted", "type": "boolean", "description": "Did the caller ask to be called back?"},
         ],
         "success_criterion": "The caller's question was answered, or a message with a name was taken."}),
    AgentTemplate(
        "lead_qualification", "Lead qualification",
        "Calls (or answers) a prospect, asks the qualifying questions and books a follow-up with sales.",
        {**_COMMON,
         "name": "Lead qualification",
         "variable_defaults": {"customer_name": "there", "company": "our company", "product": "our product"},
         "greeting": "Hi {{customer_name}}, this is Alex from {{company}}. Do you have two minutes?",
         "system_prompt": (
             "You are Alex, a friendly sales development representative for {{company}}, calling "
             "{{customer_name}} about {{product}}.\n\n"
             "Find out, one question at a time: their role, the problem they want to solve, their timeline, and "
             "their budget range. If they are not interested, thank them and end the call politely. If they are, "
             "offer a 30-minute call with a specialist and agree a day and time."),
         "analysis_schema": [
             {"name": "interested", "type": "boolean", "description": "Does the prospect want a follow-up?"},
             {"name": "timeline", "type": "enum", "description": "When they want a solution.",
              "choices": ["now", "this quarter", "this year", "no plans"]},
             {"name": "budget", "type": "number", "description": "Budget they named, in dollars (0 if none)."},
             {"name": "follow_up_date", "type": "date", "description": "The day agreed for the follow-up."},
         ],
         "success_criterion": "The prospect agreed to a follow-up call on a specific day."}),
    AgentTemplate(
        "appointment_reminder", "Appointment reminder",
        "Calls a customer about an upcoming appointment: confirm, reschedule or cancel.",
        {**_COMMON,
         "name": "Appointment reminder",
         "variable_defaults": {"customer_name": "", "appointment_time": "tomorrow at 10am",
                               "business_name": "Acme Dental"},
         "greeting": "Hello {{customer_name}}, this is {{business_name}} calling about your appointment "
                     "{{appointment_time}}.",
         "system_prompt": (
             "You call customers of {{business_name}} to confirm their appointment {{appointment_time}}. The "
             "customer is {{customer_name}}.\n\n"
             "Ask whether they can still make it. If yes, confirm and say goodbye. If not, ask which other day "
             "and time suits them and say the office will confirm the new time. If they want to cancel, accept "
             "it kindly. If you reached someone else, ask them to pass the message on."),
         "analysis_schema": [
             {"name": "outcome", "type": "enum", "description": "What the customer decided.",
              "choices": ["confirmed", "reschedule", "cancelled", "not reached"]},
             {"name": "preferred_time", "type": "text", "description": "A new time they asked for, if any."},
         ],
         "success_criterion": "The customer confirmed, rescheduled or cancelled the appointment."}),
]
BY_KEY = {t.key: t for t in TEMPLATES}
