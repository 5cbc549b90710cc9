"""Agent test suites: scenario files (a caller script and expectations), run as real calls through the real
pipeline by a simulated caller, with pass/fail results kept per agent version."""
