"""The Django admin: a thin adapter over the domain, like the API.

Every write the admin makes is a domain call: arenas are created by `ArenaManager.create`,
their goal changed by `ArenaHandle.update_goal`, their lifecycle moved by `ArenaHandle.act`
and claims released by `ArenaHandle.release_claim` (acting as `staff:<username>`); agents and
tokens go through `arenas.agents`, webhook subscriptions through
`arenas.webhooks.subscriptions`. A refusal of the domain becomes a form error or an admin
message, never a 500. Nothing is deleted here: arenas and agents are history, and events are
the audit trail (read-only, also for superusers).

The base classes are in `base`; each model's admin is a module of its own, registered when
Django's autodiscovery imports this package.
"""

from . import (  # noqa: F401  (each module registers its admin)
    agents,
    arenas,
    artifacts,
    claims,
    events,
    facts,
    requests,
    usage,
    webhooks,
)
