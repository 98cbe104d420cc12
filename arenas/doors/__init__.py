"""What the doors share: the REST API (`arenas/api/`), the websocket feeds (`arenas/live/`)
and the MCP server (`arenas/mcp/`) check callers and page lists here, so that no door
imports another and they cannot disagree.

- `access`: the bearer token of an `Authorization` header, allowed `Host`s and `Origin`s,
  the caller that is an agent, and the error body in the service's format;
- `rates`: the per-agent rate limit, one budget across the REST API and MCP;
- `pages`: keyset pages and their opaque cursors.
"""
