"""Dashboard views, one module per area. URLs are in dashboard/urls.py (pages) and dashboard/api/ (the REST API)."""
