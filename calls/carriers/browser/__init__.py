"""The browser carrier: a dashboard user talks to an agent from the page. Its media socket (media.py), the
transcript riding on it (transcript.py), the upgrade check (upgrade.py) and the call's opening (open_call.py, used
by dashboard.views.talk). No webhooks and no REST: it has no urls.py, and its kit has no call control."""
