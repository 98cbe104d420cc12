"""The MCP server: the SDK's low-level `Server` with the tools, the prompt and the resource
of this package. `app.py` serves it over Streamable HTTP.

Every handler finds the calling agent where the HTTP layer left it (`AGENT`, in the ASGI
scope) and answers in the protocol's terms:
- a tool's refusal (a `DomainError`) is a tool result with `isError: true`, its text
  `<code>: <detail>` (and the error's extra fields as JSON), its structured content the
  REST API's error JSON;
- a tool's success carries the REST API's JSON as structured content and two texts: a
  short summary, then that JSON (the MCP specification asks for the JSON as text too, for
  hosts that pass only text to the model);
- a prompt or resource that is refused is a JSON-RPC error whose message starts with the
  code the same way;
- anything unexpected is logged and answered `server_error`, never raised into the SDK.
"""

from __future__ import annotations

import json
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from arenas.errors import DomainError, NotFound, unavailable
from arenas.models import Agent

from . import guide
from .schemas import ADVICE
from .tools import TOOLS, Caller, Once, Reply, call, in_thread

logger = logging.getLogger(__name__)

# The ASGI scope key under which `app.py` puts the authenticated Agent.
AGENT = "aleph.agent"


class ServerError(DomainError):
    code = "server_error"
    status = 500
    default_detail = "The server failed to handle this call. It has been logged; try again."


SERVER_ERROR = ServerError()

INSTRUCTIONS = (
    "Aleph Arena: arenas where several AI agents work on a shared goal while people watch "
    "and steer. Start with whoami (your arenas) or create_arena; the prompt work_in_arena "
    "explains how to work in an arena with these tools and what each error code means. A "
    "refused call answers `<code>: <detail>` and what to do about that code."
)


def _version() -> str:
    try:
        return version("aleph-arena")
    except PackageNotFoundError:
        return ""


def agent_of(ctx: ServerRequestContext[Any, Any]) -> Agent:
    """The agent the HTTP layer authenticated for this request."""
    request = ctx.request
    agent = request.scope.get(AGENT) if request is not None else None
    if not isinstance(agent, Agent):
        raise MCPError(types.INVALID_REQUEST, "not_authenticated: No agent for this request.")
    return agent


def refusal_text(error: DomainError) -> str:
    """`<code>: <detail>`, then the error's extra fields (not `fields`, which the detail
    already spells out) as JSON."""
    extra = {k: v for k, v in error.extra.items() if k != "fields"}
    suffix = f" {json.dumps(extra, ensure_ascii=False)}" if extra else ""
    return f"{error.code}: {error.detail}{suffix}"


def tool_result(reply: Reply) -> types.CallToolResult | dict[str, Any]:
    """The tool result of `reply`. A shared reply's is made once for all the calls that
    share it, in its wire form (the SDK accepts a handler's result as a dict as well)."""
    return _shared_result(reply) if reply.shared else _result(reply)


def _result(reply: Reply) -> types.CallToolResult:
    return types.CallToolResult(
        content=[
            types.TextContent(text=reply.text),
            types.TextContent(text=json.dumps(reply.data, ensure_ascii=False)),
        ],
        structured_content=reply.data,
    )


_shared_result = Once(
    lambda reply: _result(reply).model_dump(by_alias=True, mode="json", exclude_none=True)
)


def tool_error(error: DomainError) -> types.CallToolResult:
    """The refusal as a tool result: `<code>: <detail>`, then what to do about that code."""
    advice = ADVICE.get(error.code)
    return types.CallToolResult(
        content=[
            types.TextContent(text=refusal_text(error)),
            *([types.TextContent(text=f"{error.code} means: {advice}")] if advice else []),
        ],
        structured_content=error.as_dict(),
        is_error=True,
    )


# --- handlers ----------------------------------------------------------------------------


_TOOL_LIST = types.ListToolsResult(
    tools=[
        types.Tool(
            name=t.name,
            title=t.title,
            description=t.description,
            input_schema=t.input_schema,
            # A read says so; a write is not destructive (it adds to the log).
            annotations=types.ToolAnnotations(read_only_hint=True)
            if t.read_only
            else types.ToolAnnotations(destructive_hint=False),
        )
        for t in TOOLS.values()
    ]
)


async def list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return _TOOL_LIST


async def call_tool(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
) -> types.CallToolResult | dict[str, Any]:
    agent = agent_of(ctx)
    if params.name not in TOOLS:
        raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
    try:
        return tool_result(await call(params.name, agent, params.arguments or {}))
    except DomainError as error:
        return tool_error(error)
    except Exception as error:
        if (down := unavailable(error)) is not None:
            return tool_error(down)
        logger.exception("The MCP tool %s failed", params.name)
        return tool_error(SERVER_ERROR)


async def _guarded(function: Any, *args: Any) -> Any:
    """Run a prompt's or resource's domain work in a thread; a refusal becomes a JSON-RPC
    error whose message starts with the error code."""
    try:
        return await in_thread(function, *args)
    except DomainError as error:
        raise MCPError(types.INVALID_PARAMS, refusal_text(error)) from None
    except Exception as error:
        if (down := unavailable(error)) is not None:
            raise MCPError(types.INTERNAL_ERROR, refusal_text(down)) from None
        logger.exception("The MCP server failed")
        raise MCPError(types.INTERNAL_ERROR, refusal_text(SERVER_ERROR)) from None


async def list_prompts(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListPromptsResult:
    return types.ListPromptsResult(
        prompts=[
            types.Prompt(
                name=guide.PROMPT,
                title="Work in an arena",
                description=guide.PROMPT_DESCRIPTION,
                arguments=[
                    types.PromptArgument(
                        name="arena_id", description="The arena's id (a UUID).", required=True
                    )
                ],
            )
        ]
    )


async def get_prompt(
    ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
) -> types.GetPromptResult:
    caller = Caller(agent_of(ctx))
    if params.name != guide.PROMPT:
        raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {params.name}")
    arena_id = (params.arguments or {}).get("arena_id")
    text = await _guarded(guide.work_in_arena, caller, arena_id)
    return types.GetPromptResult(
        description=guide.PROMPT_DESCRIPTION,
        messages=[types.PromptMessage(role="user", content=types.TextContent(text=text))],
    )


async def list_resources(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListResourcesResult:
    caller = Caller(agent_of(ctx))
    found = await _guarded(guide.arena_resources, caller)
    return types.ListResourcesResult(
        resources=[
            types.Resource(
                uri=uri, name=name, description=guide.RESOURCE_DESCRIPTION, mime_type=guide.JSON
            )
            for uri, name in found
        ]
    )


async def list_resource_templates(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(
        resource_templates=[
            types.ResourceTemplate(
                uri_template=guide.RESOURCE_TEMPLATE,
                name="arena",
                title="An arena",
                description=guide.RESOURCE_DESCRIPTION,
                mime_type=guide.JSON,
            )
        ]
    )


async def read_resource(
    ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
) -> types.ReadResourceResult:
    caller = Caller(agent_of(ctx))
    uri = str(params.uri)
    if not uri.startswith(guide.RESOURCE_SCHEME):
        raise MCPError(types.INVALID_PARAMS, refusal_text(NotFound(f"No resource {uri}.")))
    text = await _guarded(guide.arena_json, caller, uri.removeprefix(guide.RESOURCE_SCHEME))
    return types.ReadResourceResult(
        contents=[types.TextResourceContents(uri=uri, mime_type=guide.JSON, text=text)]
    )


def build() -> Server[Any]:
    server: Server[Any] = Server(
        "aleph-arena",
        version=_version(),
        title="Aleph Arena",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_list_resource_templates=list_resource_templates,
        on_read_resource=read_resource,
    )
    # The SDK wraps every request in an OpenTelemetry span by default (a no-op tracer
    # unless an exporter is installed); this service exports no traces.
    server.middleware = []
    return server


server = build()
