"""Webhooks: an arena's log pushed to other systems, signed, at least once.

- `subscriptions`: who may subscribe to what, creating one (its secret shown once), reading,
  deleting, disabling and resuming them, and how far behind each one is.
- `safety`: which URLs a subscription may name and which addresses a delivery may reach
  (resolved once, then connected to: no DNS rebinding).
- `retries`: when a failed event is tried again, and when a subscription gives up.
- `delivery`: one subscription's cursor on one arena, leased to one process at a time,
  delivered in seq order with head-of-line blocking; the signed POST itself.
- `deliverer`: the loop that runs delivery in every server process and in
  `manage.py deliver_webhooks`.

The API (`arenas/api/webhooks.py`), the admin (`arenas/admin/webhooks.py`) and the command
are doors into these modules and decide nothing themselves.
"""
