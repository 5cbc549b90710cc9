"""End-of-turn models: is the caller done, judged from their audio (not only from how long they were silent)."""
