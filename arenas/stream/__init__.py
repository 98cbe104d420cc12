"""What each server process runs beside its requests, shared by every door that waits on an
arena: the hub (one doorbell subscription per arena per process, each event encoded once and
handed to every local follower), waits on it (MCP's `wait_for_events`, the dashboards), the
pool of threads for their database work, reads of the log, and the claim sweep.

The doors build on it and it imports none of them: the websocket feed (arenas/live/), the MCP
server (arenas/mcp/) and the webhook deliverer (arenas/webhooks/).
"""
