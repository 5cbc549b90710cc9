from django.contrib import admin

from .models import Agent, Call, CallEvent, PhoneNumber, Turn, TurnMetrics, Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "stt_provider", "llm_provider", "tts_provider", "updated_at")
    list_filter = ("workspace",)


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ("e164", "carrier", "agent", "workspace")
    list_filter = ("carrier",)


class TurnInline(admin.TabularInline):
    model = Turn
    extra = 0
    fields = ("index", "role", "text", "heard_text", "interrupted", "started_at")
    readonly_fields = fields


class CallEventInline(admin.TabularInline):
    model = CallEvent
    extra = 0
    fields = ("at", "kind", "detail")
    readonly_fields = fields


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ("carrier_call_id", "carrier", "from_number", "to_number", "status", "created_at", "end_reason")
    list_filter = ("carrier", "status", "direction")
    search_fields = ("carrier_call_id", "from_number", "to_number")
    inlines = [TurnInline, CallEventInline]


@admin.register(Turn)
class TurnAdmin(admin.ModelAdmin):
    list_display = ("call", "index", "role", "text", "interrupted")


@admin.register(TurnMetrics)
class TurnMetricsAdmin(admin.ModelAdmin):
    list_display = ("turn", "end_to_end_ms", "stt_final_ms", "brain_first_text_ms", "tts_first_audio_ms")


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "call", "workspace")
    list_filter = ("kind",)
