from __future__ import annotations

from django.contrib import admin

from .models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "agent", "kind", "size_bytes", "created_at")
    list_filter = ("kind",)
    search_fields = ("title", "filename")
