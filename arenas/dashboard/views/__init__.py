"""The browser dashboard: server-rendered pages over the manager and handles.

Every page needs a login. Reads go through `ArenaManager.user_handle` (staff see every arena,
another user what an agent they own sees); writes (lifecycle actions, messages, releasing a
claim, answering a request) are staff's and go through `staff_handle`, whose domain errors
come back as page messages. Live updates come from the websocket feeds (`arenas/live/`); the
JavaScript in `static/js/` re-fetches the panels fragment when an event arrives, so each
panel has one renderer: its template.

One module per page or concern: `arenas` (the list, an arena's page and panels, an
artifact), `spend` (the spend panel), `history` (the scrubber, forking), `requests` (the
inbox, the header's count, answering), `steering` (staff's actions), and `base` (what they
share).
"""

from .arenas import arena_detail, arena_list, arena_panels, artifact_detail
from .history import arena_fork, arena_history
from .requests import request_answer, request_counts, request_inbox
from .steering import arena_budget, arena_message, arena_transition, claim_release

__all__ = [
    "arena_budget",
    "arena_detail",
    "arena_fork",
    "arena_history",
    "arena_list",
    "arena_message",
    "arena_panels",
    "arena_transition",
    "artifact_detail",
    "claim_release",
    "request_answer",
    "request_counts",
    "request_inbox",
]
