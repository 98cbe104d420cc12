"""The MCP tools: each one a few lines over the same `ArenaManager` and `ArenaHandle`
operations as the REST views, answering the same JSON (`representations`,
`events.to_wire`) with a short text for the model. One module per area; importing this
package registers them all, in the order `tools/list` shows them. The registry and how a
call runs are in `arenas/mcp/registry.py`.
"""

from ..registry import TOOLS, Caller, Once, Reply, Tool, call, in_thread, page, tool

# Each area's module registers its tools when imported; the order is tools/list's.
from . import arenas, work, artifacts, memory, usage, requests, events  # noqa: E402, F401, I001  isort: skip

__all__ = ["TOOLS", "Caller", "Once", "Reply", "Tool", "call", "in_thread", "page", "tool"]
