"""The demo (`python manage.py demo`): demo agents collaborating live, for a newcomer to watch.

One module per concern, so that another arena is one more script:

- `cast.py`: the demo's staff login and agents (ids, names, fresh tokens), and its constants.
- `play.py`: `Play`, one arena being played through the Python client (`aleph_client`), its
  actions (one request each) and its waits (a person's answer, a claim's expiry), and
  `Watch`, an agent's live feed of the arena.
- `field_guide.py`, `caching.py`, `offsite.py`: the script of each arena of a round.
- `rounds.py`: the round, the scripts played side by side one action at a time, and
  winding up (settling and archiving) what the demo started when it is stopped.

What waits for a person (activating the offsite arena, the draft's review, the engineer's
question) waits for as long as the demo runs, unless `--answer-after` says otherwise.
"""
