"""Validation of user-supplied text, numbers and JSON: the primitives `inputs` builds on.

Limits count characters (code points), never bytes. Text is stored verbatim: no trimming,
no normalisation, so emoji, combining marks and right-to-left text round-trip intact. Two
things no database column can hold are refused: NUL characters and lone surrogates.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import Invalid

JSON_DEPTH_MAX = 64


def text(value: Any, field: str, *, min_len: int = 0, max_len: int, blank: bool = True) -> str:
    """Return `value` unchanged if it is a string of min_len..max_len characters."""
    if not isinstance(value, str):
        raise Invalid.field(field, "Must be a string.")
    _storable(value, field)
    if len(value) < min_len:
        raise Invalid.field(
            field,
            "This field may not be empty." if min_len == 1 else f"At least {min_len} characters.",
        )
    if len(value) > max_len:
        raise Invalid.field(field, f"At most {max_len} characters (got {len(value)}).")
    if not blank and value.strip() == "":
        raise Invalid.field(field, "This field may not be blank.")
    return value


def _storable(value: str, field: str) -> None:
    if "\x00" in value:
        raise Invalid.field(field, "NUL characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid.field(field, "Text must be valid Unicode (no lone surrogates).") from None


def integer_text(value: Any) -> Any:
    """A form field or query parameter holding a decimal integer (ASCII digits, at most 19)
    as that integer; anything else unchanged, for the validator that follows to refuse in the
    error format (`str.isdigit` alone admits "²", which `int` refuses)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return value


def integer(value: Any, field: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid.field(field, "Must be an integer.")
    if value < minimum or value > maximum:
        raise Invalid.field(field, f"Must be between {minimum} and {maximum}.")
    return value


def number(value: Any, field: str, *, minimum: float, maximum: float) -> float:
    """A JSON number (an integer or a finite float, not a boolean) from minimum to maximum."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not minimum <= value <= maximum
    ):
        raise Invalid.field(field, f"Must be a number from {minimum} to {maximum}.")
    return float(value)


def choice(value: Any, field: str, choices: list[str] | tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise Invalid.field(field, f"Must be one of: {', '.join(choices)}.")
    return value


def size_in_bytes(value: Any) -> int:
    """What a stored value weighs: a string's length in UTF-8 bytes (its content, however
    a JSON body escapes it), any other JSON value's compact JSON encoding in UTF-8 bytes."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def json_value(value: Any, field: str, *, max_bytes: int) -> Any:
    """Check that `value` is storable JSON of at most `max_bytes` bytes (`size_in_bytes`)."""
    _walk_json(value, field, depth=0)
    size = size_in_bytes(value)
    if size > max_bytes:
        what = "of UTF-8 text" if isinstance(value, str) else "of JSON"
        raise Invalid.field(field, f"At most {max_bytes} bytes {what} (got {size}).")
    return value


def _walk_json(value: Any, field: str, depth: int) -> None:
    if depth > JSON_DEPTH_MAX:
        raise Invalid.field(field, f"JSON nested too deeply (at most {JSON_DEPTH_MAX} levels).")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid.field(field, "NaN and infinite numbers are not allowed.")
        return
    if isinstance(value, str):
        _storable(value, field)
        return
    if isinstance(value, list):
        for item in value:
            _walk_json(item, field, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Invalid.field(field, "JSON object keys must be strings.")
            _storable(key, field)
            _walk_json(item, field, depth + 1)
        return
    raise Invalid.field(field, "Must be JSON.")
