"""Where each configuration value comes from, and errors that say so in one line.

The YAML file is composed into nodes (not only loaded) so every key keeps its line number; the
``ROLE_MONITOR_<SECTION>__<KEY>`` variables are parsed here against the settings models, so an
unknown variable (a single underscore, a misspelt section) is reported instead of ignored, and
a bad value blames the variable, not the file. Pydantic still does the validating; this module
only turns its error locations back into ``file:line`` or the variable's name.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

ENV_PREFIX = "ROLE_MONITOR_"
ENV_DELIMITER = "__"
Key = tuple[str, ...]
#: Values of optional settings that mean "none" in an environment variable.
ENV_NONE = {"", "null", "none"}


@dataclass(frozen=True)
class Source:
    """Where one value was set: ``file:line``, an environment variable, or the default."""

    kind: str  # "file" | "env" | "default"
    where: str

    def __str__(self) -> str:
        if self.kind == "env":
            return f"environment variable {self.where}"
        return self.where


DEFAULT = Source("default", "default")


@dataclass
class Origins:
    """The file's key lines and the environment's keys, looked up by dotted key."""

    file: str | None = None
    lines: dict[Key, int] = field(default_factory=dict)
    env: dict[Key, str] = field(default_factory=dict)

    def of(self, key: Sequence[object]) -> Source:
        """The source of ``key`` or of the nearest enclosing key that has one."""
        path = tuple(str(part) for part in key)
        for end in range(len(path), 0, -1):
            if path[:end] in self.env:
                return Source("env", self.env[path[:end]])
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines and self.file is not None:
                return Source("file", f"{self.file}:{self.lines[path[:end]]}")
        # An error on a section set only through deeper variables (a missing required key).
        for env_key, name in self.env.items():
            if env_key[: len(path)] == path:
                return Source("env", name)
        return DEFAULT


def yaml_lines(text: str) -> dict[Key, int]:
    """Every key and list item of a YAML document → its 1-based line."""
    lines: dict[Key, int] = {}
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        _walk(root, (), lines)
    return lines


def _walk(node: yaml.Node, path: Key, lines: dict[Key, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _walk(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*path, str(index))
            lines[key] = item.start_mark.line + 1
            _walk(item, key, lines)


def yaml_error(path: str, exc: yaml.YAMLError) -> str:
    """``file:line:column: invalid YAML: problem (context)`` in one line."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        context = f" ({exc.context})" if exc.context else ""
        return f"{path}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {exc.problem}{context}"
    return f"{path}: invalid YAML: {one_line(str(exc))}"


# --- environment ---------------------------------------------------------------------------


@dataclass
class EnvOverrides:
    data: dict[str, Any] = field(default_factory=dict)
    keys: dict[Key, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


def env_overrides(model: type[BaseModel], environ: Mapping[str, str]) -> EnvOverrides:
    """The ``ROLE_MONITOR_*`` variables as nested data; unknown ones listed with a hint."""
    result = EnvOverrides()
    known = sorted(env_names(model))
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = tuple(name[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER))
        target = _annotation_at(model, parts)
        if target is None or not all(parts):
            result.unknown.append(f"{name}: unknown setting{_env_hint(name, known)}")
            continue
        value = _env_value(name, parts, environ[name], target)
        _set(result.data, parts, value)
        result.keys[parts] = name
    return result


def env_names(model: type[BaseModel], prefix: Key = ()) -> Iterable[str]:
    """Every variable name that sets one leaf of ``model`` (sections are not listed)."""
    for name, info in model.model_fields.items():
        if name == "base_dir":
            continue
        section = _model_of(info.annotation)
        if section is not None:
            yield from env_names(section, (*prefix, name))
        else:
            yield ENV_PREFIX + ENV_DELIMITER.join((*prefix, name)).upper()


def _env_hint(name: str, known: Sequence[str]) -> str:
    flat = name.upper().replace(ENV_DELIMITER, "_")
    for candidate in known:
        if candidate.replace(ENV_DELIMITER, "_") == flat:
            return f" (did you mean {candidate}? sections and keys are separated by '__')"
    close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _annotation_at(model: type[BaseModel], parts: Key) -> Any | None:
    """The annotation of the setting at ``parts``; None when no such setting exists."""
    annotation: Any = model
    for part in parts:
        section = _model_of(annotation)
        if section is not None:
            info = section.model_fields.get(part)
            if info is None or part == "base_dir":
                return None
            annotation = info.annotation
        elif typing.get_origin(_unwrap(annotation)) is dict:
            annotation = typing.get_args(_unwrap(annotation))[1]
        else:
            return None
    return annotation


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``Annotated[X, ...]`` → ``X``."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    inner = _unwrap(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _optional(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return type(None) in typing.get_args(annotation)


def _env_value(name: str, key: Key, raw: str, annotation: Any) -> Any:
    """Text as it should reach the model: JSON for sections, mappings and lists of sections
    (plain lists stay comma-separated text for the model's own splitting); None for "null"."""
    if _optional(annotation) and raw.strip().lower() in ENV_NONE:
        return None
    inner = _unwrap(annotation)
    origin = typing.get_origin(inner)
    items = typing.get_args(inner)
    structured = (
        _model_of(inner) is not None
        or origin is dict
        or (origin is list and bool(items) and _model_of(items[0]) is not None)
    )
    if not structured:
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        dotted = ".".join(key)
        raise EnvError(f"environment variable {name}: {dotted}: expected JSON: {exc.msg}") from exc


class EnvError(ValueError):
    """An environment variable whose text cannot be read at all."""


def _set(data: dict[str, Any], parts: Key, value: Any) -> None:
    for part in parts[:-1]:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[parts[-1]] = value


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, mapping by mapping (the environment wins)."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


# --- errors ---------------------------------------------------------------------------------


def validation_message(exc: ValidationError, origins: Origins, model: type[BaseModel]) -> str:
    """The first problem as ``source: key: message`` (and how many more there are)."""
    errors = exc.errors()
    first = errors[0]
    loc = tuple(str(part) for part in first["loc"])
    where = ".".join(loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        message = "unknown key" + _key_hint(model, loc)
    elif first["type"] == "value_error":  # our own validators: the message names the value
        message = first["msg"].removeprefix("Value error, ")
    else:
        secret = _is_secret(_annotation_at(model, loc))
        message = first["msg"] + ("" if secret else _got(first.get("input")))
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{origins.of(loc)}: {where}: {message}{more}"


def _key_hint(model: type[BaseModel], loc: Key) -> str:
    parent = _annotation_at(model, loc[:-1]) if loc[:-1] else model
    section = _model_of(parent)
    if section is None:
        return ""
    names = [name for name in section.model_fields if name != "base_dir"]
    close = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(names)})"


def _is_secret(annotation: Any) -> bool:
    return annotation is not None and "SecretStr" in repr(annotation)


def _got(value: object) -> str:
    if isinstance(value, str | int | float | bool) and len(repr(value)) <= 60:
        return f" (got {value!r})"
    return ""


def one_line(text: str) -> str:
    return " ".join(text.split())
