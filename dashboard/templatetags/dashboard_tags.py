"""Small formatting filters for the dashboard templates."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """83.4 -> '1m 23s'; None -> '—'."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def ms(value: float | None) -> str:
    """412.37 -> '412 ms'; 1520 -> '1.52 s'; None -> '—'."""
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def event_summary(detail: dict) -> str:
    """An event's detail as 'key: value' pairs, short enough for one line."""
    if not isinstance(detail, dict) or not detail:
        return ""
    parts = [f"{k}: {v}" for k, v in detail.items()]
    text = " · ".join(parts)
    return text if len(text) <= 160 else text[:159] + "…"
