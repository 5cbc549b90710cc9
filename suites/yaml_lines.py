"""YAML that remembers where things were: every mapping and list knows its line, and the line of each key or item,
so a scenario's error can name the line a person has to fix."""

from __future__ import annotations

import yaml


class ScenarioError(ValueError):
    """A scenario file that cannot be run: `line` (1-based, None when unknown) and `field` (a dotted path)."""

    def __init__(self, problem: str, *, line: int | None = None, field: str = "", source: str = "") -> None:
        self.problem, self.line, self.field, self.source = problem, line, field, source
        where = ", ".join(p for p in (source, f"line {line}" if line else "", field and f"field {field!r}") if p)
        super().__init__(f"{where}: {problem}" if where else problem)


class LineDict(dict):
    """A YAML mapping: `line` is where it starts, `key_lines[key]` where each key is."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A YAML sequence: `line` is where it starts, `item_lines[i]` where each item is."""

    line: int = 0
    item_lines: list


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line, out.key_lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise ScenarioError(f"keys must be words, not {key!r}", line=key_node.start_mark.line + 1)
        if key in out:
            raise ScenarioError(f"{key!r} is given twice", line=key_node.start_mark.line + 1, field=key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(item, deep=True) for item in node.value)
    out.line, out.item_lines = node.start_mark.line + 1, [item.start_mark.line + 1 for item in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load(text: str, source: str = "") -> object:
    """The YAML document in `text`, mappings as LineDict and lists as LineList; ScenarioError on bad YAML."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass: no arbitrary objects
    except ScenarioError as exc:
        exc.source = source
        raise ScenarioError(exc.problem, line=exc.line, field=exc.field, source=source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ScenarioError(f"not valid YAML: {exc.problem or exc.context}", source=source,
                            line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", source=source) from None
