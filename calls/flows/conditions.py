"""`when` conditions: tiny, total comparisons on variables (a missing variable is never an error, just false)."""

from __future__ import annotations

__all__ = ["lookup", "holds", "first_true"]

_MISSING = object()


def lookup(variables: dict, path: str) -> object:
    """`variables["a"]["b"][0]` for "a.b.0"; None when any step is missing."""
    value: object = variables
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is _MISSING:
            return None
    return value


def _same(a: object, b: object) -> bool:
    # Tool results arrive as JSON and slots as text: "3" and 3, "True" and true count as the same value.
    if a == b:
        return True
    if isinstance(a, dict | list) or isinstance(b, dict | list) or a is None or b is None:
        return False
    return str(a).strip().lower() == str(b).strip().lower()


def _order(a: object, b: object) -> tuple[object, object] | None:
    try:
        return float(a), float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        if a is None or isinstance(a, dict | list):
            return None
        return str(a), str(b)


def holds(condition: dict, variables: dict) -> bool:
    value = lookup(variables, condition["var"])
    if "equals" in condition:
        return _same(value, condition["equals"])
    if "not_equals" in condition:
        return not _same(value, condition["not_equals"])
    if "in" in condition:
        return any(_same(value, option) for option in condition["in"])
    if "exists" in condition:
        return (value not in (None, "", [], {})) == condition["exists"]
    if "contains" in condition:
        if isinstance(value, list):
            return any(_same(item, condition["contains"]) for item in value)
        return value is not None and str(condition["contains"]).lower() in str(value).lower()
    for op in ("gt", "gte", "lt", "lte"):
        if op in condition:
            pair = _order(value, condition[op])
            if pair is None:
                return False
            a, b = pair
            try:
                return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]  # type: ignore[operator]
            except TypeError:
                return False
    return False


def first_true(conditions: list[dict] | None, variables: dict) -> str | None:
    """The `next` of the first condition that holds."""
    for condition in conditions or ():
        if holds(condition, variables):
            return condition["next"]
    return None
