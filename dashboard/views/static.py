"""Serve the dashboard's static files from the app itself.

The app runs under daphne with no separate web server in front (see Procfile), so /static/ would otherwise 404
outside DEBUG. Files come from the staticfiles finders (no collectstatic step) with Last-Modified, so browsers
revalidate cheaply; the dashboard's traffic is a handful of users, not the call path.
"""

from __future__ import annotations

from django.contrib.staticfiles.views import serve


def serve_static(request, path: str):
    response = serve(request, path, insecure=True)
    response["Cache-Control"] = "public, max-age=300"
    return response
