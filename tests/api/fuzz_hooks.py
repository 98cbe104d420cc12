"""Schemathesis hooks of the fuzz test (loaded through SCHEMATHESIS_HOOKS).

Generated ids name no stored object, so nearly every case would stop at a 404. Before each
call (but in the stateful phase, whose ids come from earlier responses) this points most
path parameters at real objects the test created beforehand (listed in the ALEPH_FUZZ_*
environment variables), keeping the generated value as one choice among them; the choice
is a function of the generated case, so a case stays reproducible. It also makes each
Idempotency-Key unique per call: generated keys repeat across cases with different bodies,
which would turn most POSTs into 422s.
"""

from __future__ import annotations

import itertools
import os
import uuid
import zlib
from typing import Any

import schemathesis

REAL = {
    "id": os.environ.get("ALEPH_FUZZ_ARENAS", "").split(","),
    "agent_id": os.environ.get("ALEPH_FUZZ_AGENTS", "").split(","),
    "artifact_id": os.environ.get("ALEPH_FUZZ_ARTIFACTS", "").split(","),
}
KEY_HEADER = "Idempotency-Key"
RUN = uuid.uuid4().hex[:8]
_calls = itertools.count()


def _real(name: str, value: Any, case: Any) -> Any:
    """A real object's id instead of `value`, or `value` itself, chosen by the case."""
    real = [v for v in REAL.get(name, []) if v]
    if not real or not isinstance(value, str):
        return value
    choices = [*real, value]
    seed = repr((value, case.method, case.path, case.query, case.body))
    return choices[zlib.crc32(seed.encode("utf-8", "replace")) % len(choices)]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    meta = getattr(case, "_meta", None)
    stateful = meta is not None and str(getattr(meta.phase, "name", "")) == "stateful"
    if case.path_parameters and not stateful:
        for name, value in list(case.path_parameters.items()):
            case.path_parameters[name] = _real(name, value, case)
    key = (case.headers or {}).get(KEY_HEADER)
    if isinstance(key, str) and 1 <= len(key) <= 200:
        case.headers[KEY_HEADER] = f"{RUN}-{next(_calls)}-{key}"
