"""FastAPI/Pydantic validation errors -> per-field problems with precise messages.

Field names follow the request's JSON: ``counts.Sanders``, ``chance[0].among[1]``, ``stage``; headers by
their name (``Idempotency-Key``); ``body`` for the body as a whole. The stage tag that Pydantic puts in the
location of a discriminated union is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from caucus.service import FieldProblem

STAGES = ("attendance", "first", "final", "delegates")
HEADER_NAMES = {"idempotency-key": "Idempotency-Key", "authorization": "Authorization", "content-type": "Content-Type"}
HEADER_HINTS = {
    "Idempotency-Key": "send a new random key (a UUID, say) with each new report, and the same key again when "
                       "you retry that report: 1 to 128 visible ASCII characters, no spaces",
}
MAX_SHOWN = 40


def shown(value: Any) -> str:
    """A short, ASCII-safe rendering of an input value (JSON where possible)."""
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=True)
    except (TypeError, ValueError):
        text = ascii(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def field_name(loc: Sequence[Any]) -> str:
    """The request field a Pydantic location points at."""
    parts = list(loc)
    if not parts:
        return "body"
    source = parts.pop(0)
    if source == "header" and parts:
        name = str(parts[0])
        return HEADER_NAMES.get(name.lower(), name)
    if source == "body" and parts and parts[0] in STAGES:
        parts.pop(0)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            text = str(part).encode("utf-8", "backslashreplace").decode("utf-8")  # unpaired surrogates escaped
            out += f".{text}" if out else text
    return out or ("body" if source == "body" else str(source))


def _problem(error: Mapping[str, Any]) -> FieldProblem:
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    field = field_name(loc)
    whole_body = field == "body"
    code, message = kind.replace("_", "-"), str(error.get("msg", "is not valid"))
    if kind == "missing":
        code, message = "required", "is required"
    elif kind == "extra_forbidden":
        code, message = "unknown-field", "is not a field of this request; remove it"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        code, message = "not-a-whole-number", f"must be a whole number, got {shown(value)}"
    elif kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        code, message = "too-small", f"must be {limit} or more, got {shown(value)}"
    elif kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        code, message = "too-large", f"must be at most {limit}, got {shown(value)}"
    elif kind == "string_type":
        code, message = "not-text", f"must be text, got {shown(value)}"
    elif kind == "string_unicode":
        code, message = "invalid-value", "must be valid Unicode text (it has an unpaired surrogate)"
    elif kind == "string_too_short":
        code, message = "too-short", "must not be empty" if ctx.get("min_length") == 1 else (
            f"must be at least {ctx.get('min_length')} characters")
    elif kind == "string_too_long":
        length = len(value) if isinstance(value, str) else "more"
        code, message = "too-long", f"must be at most {ctx.get('max_length')} characters, got {length}"
    elif kind == "string_pattern_mismatch":
        code, message = "invalid-format", f"has characters that are not allowed: {shown(value)}"
    elif kind == "too_short":
        code, message = "too-few", f"must have at least {ctx.get('min_length')}, got {ctx.get('actual_length')}"
    elif kind == "too_long":
        code, message = "too-many", f"must have at most {ctx.get('max_length')}, got {ctx.get('actual_length')}"
    elif kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        code, message = "not-an-object", f"must be a JSON object, got {shown(value)}"
    elif kind == "list_type":
        code, message = "not-a-list", f"must be a JSON list, got {shown(value)}"
    elif kind == "literal_error":
        code, message = "invalid-value", f"must be {ctx.get('expected')}, got {shown(value)}"
    elif kind == "union_tag_invalid":
        field, whole_body = "stage", False
        code, message = "invalid-value", f"must be one of {', '.join(STAGES)}, got {shown(ctx.get('tag'))}"
    elif kind == "union_tag_not_found":
        field, whole_body = "stage", False
        code, message = "required", f"is required: one of {', '.join(STAGES)}"
    elif kind == "json_invalid":
        field = "body"
        position = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        code, message = "invalid-json", f"is not valid JSON: {ctx.get('error', 'decode error')}{position}"
    elif kind in ("value_error", "assertion_error"):
        code, message = "invalid-value", message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if whole_body and code == "not-an-object":
        message = f"the body must be a JSON object, got {shown(value)}"
    hint = HEADER_HINTS.get(field)
    if hint is not None:
        message = f"{message}: {hint}"
    return FieldProblem(field, code, message)


def describe_validation_errors(errors: Sequence[Mapping[str, Any]]) -> tuple[str, list[FieldProblem]]:
    """The top-level message and the per-field problems, every problem reported at once."""
    fields = [_problem(error) for error in errors]
    count = "1 problem" if len(fields) == 1 else f"{len(fields)} problems"
    parts = [f.message if f.message.startswith("the body") else f"{f.field} {f.message}" for f in fields]
    return f"the request has {count}: " + "; ".join(parts), fields
