"""Reading one YAML mapping of a scenario field by field: the right type or a ScenarioError naming line and field;
keys nobody read are an error too (a misspelt `expect` must not pass silently)."""

from __future__ import annotations

from .yaml_lines import LineDict, ScenarioError

REQUIRED = object()


class Fields:
    def __init__(self, data: object, path: str, source: str = "", line: int = 0) -> None:
        if not isinstance(data, LineDict):
            raise ScenarioError(f"expected a mapping (key: value), got {_kind(data)}", line=line or None,
                                field=path, source=source)
        self.data, self.path, self.source = data, path, source
        self._read: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def line(self, key: str | None = None) -> int:
        return self.data.line_of(key) if key else self.data.line

    def error(self, key: str | None, problem: str) -> ScenarioError:
        return ScenarioError(problem, line=self.line(key), field=self.name(key) if key else self.path,
                             source=self.source)

    def get(self, key: str, kinds: type | tuple[type, ...], default: object = REQUIRED) -> object:
        self._read.add(key)
        if key not in self.data:
            if default is REQUIRED:
                raise self.error(None, f"{self.name(key)!r} is required")
            return default
        value = self.data[key]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        # YAML reads `yes`/`no` as booleans and 3 as an int: a bool is never a number here, a number is fine as text.
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {_names(kinds)}, got {value!r}")
        if str in kinds and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {_names(kinds)}, got {_kind(value)}")
        return value

    def number(self, key: str, default: object = REQUIRED, *, minimum: float = 0) -> float:
        value = self.get(key, float, default)
        if value is not default and value < minimum:
            raise self.error(key, f"must be at least {minimum:g}, got {value:g}")
        return value

    def done(self, allowed: tuple[str, ...] | None = None) -> None:
        unknown = [k for k in self.data if k not in self._read]
        if unknown:
            known = ", ".join(sorted(allowed or self._read))
            raise self.error(unknown[0], f"unknown field {unknown[0]!r} (expected one of: {known})")


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    for kind, word in ((dict, "a mapping"), (list, "a list"), (str, "text"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return word
    return type(value).__name__


def _names(kinds: tuple[type, ...]) -> str:
    words = {str: "text", float: "a number", int: "a whole number", bool: "true/false", dict: "a mapping",
             list: "a list", type(None): "nothing"}
    return " or ".join(words.get(k, k.__name__) for k in kinds)
