"""The old name of `arenas.validation`, for the modules that still import it."""

from .validation import (  # noqa: F401
    JSON_DEPTH_MAX,
    choice,
    integer,
    integer_text,
    json_value,
    number,
    size_in_bytes,
    text,
)
