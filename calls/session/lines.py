"""What the agent says on its own, not from the brain."""

FALLBACK_LINE = "Sorry, I'm having a little trouble right now. Could you say that again?"
TIME_LIMIT_LINE = "We've reached the time limit for this call. Thank you for calling. Goodbye!"
# Said instead of the greeting when a dropped stream reconnects (calls.resume): the conversation goes on.
RESUME_LINE = "Sorry, we got cut off."
# Said when a transfer the agent announced cannot be made (the carrier refused it): the call goes on.
TRANSFER_FAILED_LINE = "I'm sorry, I couldn't connect you right now — can I help with something else?"
# Said when the server is shutting down (SIGTERM) and the call outlasted the drain time (calls.shutdown).
SHUTDOWN_LINE = "I'm sorry, I have to end our call now. Please call back in a minute. Goodbye!"
