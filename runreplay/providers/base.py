"""The vocabulary a provider module declares an API family in.

A :class:`Provider` lists its :class:`Route` s (method, path template, the query
parameters that change a route's meaning, a :class:`Role`, the documented type of the
request, query and reply), its :class:`Lifecycle` s (a run, a chat: which statuses end
it, where tool calls are asked for and answered), how a request names its API version,
which reply is an error, the error event a stream fault injects, its client SDKs and
the places in the vendor's own spec that describe its types. Everything else (routing,
timelines, validation, drift, the spec check, the emulator) reads these declarations.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runreplay.cassette import Headers, Request, Response
from runreplay.schema.catalog import TypeSpace, namespaces
from runreplay.sse import SSEEvent

_PARAM = re.compile(r"\{(\w+)\}")


class Role(enum.StrEnum):
    """What a request does to the resource it names; replay answers each role its own way."""

    #: Starts a resource with a lifecycle (a run, a chat); its reply carries the id.
    CREATE = "create"
    #: Reads the state of a lifecycle resource: answered from its recorded timeline.
    POLL = "poll"
    #: Moves a lifecycle resource into its next phase (submit tool outputs, cancel).
    MUTATE = "mutate"
    #: A page of a collection.
    LIST = "list"
    #: Re-opens a resource's event stream after a given event.
    STREAM_RESUME = "stream_resume"
    #: Anything else (create an assistant, delete a thread): answered in recorded order.
    CALL = "call"


#: The roles a replay answers as often as asked: they only read.
_REPEATABLE_ROLES = frozenset({Role.POLL, Role.LIST, Role.STREAM_RESUME})
#: HTTP methods that only read (RFC 9110 "safe"): a request with one may be answered again.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The roles that belong to a resource's lifecycle.
LIFECYCLE_ROLES = frozenset({Role.CREATE, Role.POLL, Role.MUTATE, Role.STREAM_RESUME})


@dataclass(frozen=True)
class Ref:
    """Where a request names its resource: a path parameter, a query parameter or a body field."""

    where: str  # "path" | "query" | "body"
    name: str

    def read(self, request: Request, params: Mapping[str, str]) -> str | None:
        if self.where == "path":
            return params.get(self.name)
        if self.where == "query":
            return next((v for k, v in request.query() if k == self.name), None)
        body = request.body.json_value
        value = body.get(self.name) if isinstance(body, dict) else None
        return str(value) if value is not None else None


def path(name: str) -> Ref:
    return Ref("path", name)


def query(name: str) -> Ref:
    return Ref("query", name)


def body(name: str) -> Ref:
    return Ref("body", name)


@dataclass(frozen=True)
class Route:
    """One endpoint of an API family.

    ``name`` is the operation's name, unique in its provider; the emulator serves the
    route with its method of that name unless ``not_emulated`` says why it does not.
    ``response``, ``request`` and ``query`` are type names resolved in the API version's
    namespace (``None``: not checked). ``when`` holds query parameters that select this
    route over another of the same path (``stream=true`` makes a retrieve a stream).
    ``stream`` says the route answers with an event stream when asked to.
    """

    name: str
    methods: tuple[str, ...]
    path: str
    role: Role
    response: str | None
    request: str | None = None
    query: str | None = None
    stream: bool = False
    when: tuple[tuple[str, str], ...] = ()
    #: The lifecycle kind the route's resource has (lifecycle roles only).
    resource: str | None = None
    #: Where the request names its resource; ``None`` for a create (the reply holds the id).
    resource_id: Ref | None = None
    #: Why the emulator does not serve this route (``None``: it does).
    not_emulated: str | None = None
    #: For a stream resume: the query parameter naming the last event the client saw.
    cursor: str | None = None
    #: Whether replay may serve this request again after every recorded copy was served
    #: (``None``: decided by :attr:`repeatable` from the role and methods).
    repeats: bool | None = None
    #: Top-level request body fields and the server's default for each: one SDK sends the
    #: default, another leaves it out, and the call is the same (matching leaves it out).
    defaults: tuple[tuple[str, Any], ...] = field(default=(), compare=False)  # values may be lists
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = _PARAM.sub(
            lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(self.path).replace(r"\{", "{").replace(r"\}", "}")
        )
        object.__setattr__(self, "regex", re.compile(f"^{pattern}/?$"))

    @property
    def parameters(self) -> int:
        return len(_PARAM.findall(self.path))

    @property
    def endpoint(self) -> str:
        """``POST /threads/{thread_id}/runs``, for messages."""
        query = "?" + "&".join(f"{k}={v}" for k, v in self.when) if self.when else ""
        return f"{'|'.join(self.methods)} {self.path}{query}"

    @property
    def repeatable(self) -> bool:
        """Whether a replay may answer this request more often than it was recorded.

        Reads (polls, lists, stream resumes, GETs) may: asking again changes nothing on the
        server. Creates, mutations (cancel, submit tool outputs) and every other write may
        not, unless the route says ``repeats=True`` (a modify that sets the same fields).
        """
        if self.repeats is not None:
            return self.repeats
        if self.role in _REPEATABLE_ROLES:
            return True
        if self.role in (Role.CREATE, Role.MUTATE):
            return False
        return all(method in READ_METHODS for method in self.methods)

    @property
    def creates(self) -> bool:
        """Whether the request makes a new resource: a create, or a POST to a collection."""
        if self.role is Role.CREATE:
            return True
        return self.role is Role.CALL and "POST" in self.methods and not self.path.rstrip("/").endswith("}")

    def selected_by(self, request: Request) -> bool:
        """Whether the request carries the query parameters this route requires."""
        if not self.when:
            return True
        pairs = set(request.query())
        return all(item in pairs for item in self.when)


def route(methods: str, path: str, name: str, response: str | None, role: Role = Role.CALL, **kwargs: Any) -> Route:
    """``route("GET|POST", "/v3/chat/retrieve", "retrieve_chat", "ChatResponse", Role.POLL, ...)``."""
    return Route(name, tuple(methods.split("|")), path, role, response, **kwargs)


def submitted_tool_outputs(body: Any) -> dict[str, str]:
    """``{tool_call_id: output}`` of a request body ``{"tool_outputs": [{tool_call_id, output}]}``
    (the shape OpenAI runs and Coze chats both answer tool calls with)."""
    outputs = body.get("tool_outputs") if isinstance(body, dict) else None
    if not isinstance(outputs, list):
        return {}
    return {str(o.get("tool_call_id")): str(o.get("output")) for o in outputs if isinstance(o, dict)}


def requested_tool_calls(resource: Any) -> list[str]:
    """The tool_call_ids a resource's ``required_action.submit_tool_outputs.tool_calls`` asks for
    (the shape of a ``requires_action`` OpenAI run and Coze chat)."""
    action = resource.get("required_action") if isinstance(resource, dict) else None
    submit = action.get("submit_tool_outputs") if isinstance(action, dict) else None
    calls = submit.get("tool_calls") if isinstance(submit, dict) else None
    if not isinstance(calls, list):
        return []
    return [str(c.get("id")) for c in calls if isinstance(c, dict)]


@dataclass(frozen=True)
class Lifecycle:
    """A resource that moves through statuses on the server (a run, a chat).

    Its routes (role create, poll, mutate) name it by ``kind``. ``unwrap`` finds the
    resource object in a reply body (Coze wraps it in ``data``). ``submit`` is the name
    of the route that answers tool calls, whose request ``tool_outputs`` reads, and
    ``required_calls`` reads the calls a ``requires_action`` state asks for.
    """

    kind: str
    terminal: frozenset[str]
    unwrap: Callable[[Any], Any] = lambda body: body
    submit: str | None = None
    #: Where a ``submit`` request names the resource whose tool calls it answers (``None``:
    #: its own resource id, as a run's submit_tool_outputs does).
    answers: Ref | None = None
    tool_outputs: Callable[[Any], dict[str, str]] | None = None
    required_calls: Callable[[Any], list[str]] | None = None
    #: The resource object a stream event carries, if any (the id of a streamed resource).
    event_resource: Callable[[SSEEvent], Any] | None = None
    #: An event's position in its stream, as a resume request counts it.
    event_position: Callable[[SSEEvent], int | None] | None = None

    def resource(self, response: Response) -> dict[str, Any] | None:
        """The resource object a successful JSON reply carries (it has a ``status``)."""
        if not 200 <= response.status < 300:
            return None
        obj = self.unwrap(response.body.json_value)
        return obj if isinstance(obj, dict) and "status" in obj else None


@dataclass(frozen=True)
class SpecPair:
    """One of our types and the place in the vendor's spec that documents the same thing."""

    ours: str  # a schema key: "openai/v2/Run"
    pointer: str  # a JSON pointer into the spec
    #: The pointer names an operation's ``parameters`` list (query string), not a schema.
    parameters: bool = False


def pointer(*parts: str) -> str:
    """A JSON pointer from its unescaped parts."""
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def component(name: str) -> str:
    """Where an OpenAPI document defines the schema ``name``."""
    return pointer("components", "schemas", name)


def reply_schema(path: str, method: str, media: str = "application/json") -> str:
    """The schema of an operation's 200 reply."""
    return pointer("paths", path, method, "responses", "200", "content", media, "schema")


def body_schema(path: str, method: str = "post") -> str:
    """The schema of an operation's JSON request body."""
    return pointer("paths", path, method, "requestBody", "content", "application/json", "schema")


def query_parameters(path: str, method: str) -> str:
    """An operation's parameter list (compared as the object our query types are)."""
    return pointer("paths", path, method, "parameters")


@dataclass(frozen=True)
class VendorSpec:
    """The vendor's OpenAPI document and what in it our types are compared with."""

    #: The file's name in the repository's copy of the vendor specs (tests/data/specs/).
    file: str
    pairs: tuple[SpecPair, ...]
    #: (our namespace, pointer to where the spec lists the stream's event names)
    event_lists: tuple[tuple[str, str], ...] = ()


def no_client(headers: Headers) -> tuple[str, str] | None:
    return None


@dataclass(frozen=True)
class Provider:
    """Everything runreplay knows about one API family (see the module docstring)."""

    name: str
    title: str
    #: Hosts of the real API.
    hosts: re.Pattern[str]
    #: Removed from the start of a URL path before routing (a base URL's ``/v1``). It may
    #: hold path parameters of its own (a project name), matched as a pattern.
    prefix: re.Pattern[str]
    routes: tuple[Route, ...]
    #: API version -> models namespace name.
    namespaces: Mapping[str, str]
    version_of: Callable[[Request], str]
    #: The error type name of a reply, or None when the reply is not an error.
    error_of: Callable[[Response], str | None]
    #: The ``error`` event a stream fault injects, in this family's shape.
    stream_error: Callable[[str], SSEEvent]
    lifecycles: tuple[Lifecycle, ...] = ()
    #: Whether a path without the prefix is not this family's (routes are too generic to
    #: claim bare paths such as ``/threads`` that another family's proxy may serve).
    prefix_required: bool = False
    #: The query parameter naming the API version, if the family names it there (matching
    #: lets the ``allow_versions`` option treat its listed values as one).
    version_parameter: str | None = None
    #: Whether the server reads ``name=`` (an empty query value) as no ``name``: one SDK sends
    #: an unset parameter empty, another leaves it out, and matching treats both as absent.
    blank_query_absent: bool = False
    #: Id prefixes by object kind (``{"run": "run"}``): what the emulator's ids start with.
    id_prefixes: Mapping[str, str] = field(default_factory=dict)
    #: The client SDK and version a request's headers name, if this family's SDK sent it.
    client_of: Callable[[Headers], tuple[str, str] | None] = no_client
    #: Request headers its SDKs vary between runs (retry counts, timeouts); ``x-*`` names a prefix.
    volatile_headers: tuple[str, ...] = ()
    spec: VendorSpec | None = None
    #: Where the emulator serves the routes (the part of the base URL before the route paths).
    emulator_mount: str = ""
    #: Other places the emulator serves the same routes at (Starlette paths, may hold
    #: parameters: ``/api/projects/{project}``), for clients that build their own URLs.
    emulator_aliases: tuple[str, ...] = ()
    #: The environment variables its SDK (or the SDK's documented examples) reads for the base
    #: URL and the key: how a self-starting emulator points the SDK at itself.
    base_url_env: str = ""
    api_key_env: str = ""

    def find(self, request: Request) -> tuple[Route, dict[str, str]] | None:
        """The route of a request and its path parameters (literal segments win over parameters)."""
        path = request.path
        if (found := self.prefix.search(path)) is not None:
            path = path[found.end() :]
        elif self.prefix_required:
            return None
        # Only routes of this method and number of segments can match (a parameter never
        # spans a "/"); they are kept most specific first, so the first match wins.
        for candidate in self._by_shape.get((request.method.upper(), path.count("/") - path.endswith("/")), ()):
            matched = candidate.regex.match(path)
            if matched is not None and (not candidate.when or candidate.selected_by(request)):
                return candidate, matched.groupdict()
        return None

    @functools.cached_property
    def _by_shape(self) -> dict[tuple[str, int], list[Route]]:
        shapes: dict[tuple[str, int], list[Route]] = {}
        for candidate in self.routes:
            for method in candidate.methods:
                shapes.setdefault((method, candidate.path.count("/")), []).append(candidate)
        for routes in shapes.values():
            routes.sort(key=lambda r: (-len(r.when), r.parameters))  # stable: declaration order among equals
        return shapes

    def namespace(self, version: str) -> TypeSpace | None:
        name = self.namespaces.get(version)
        return namespaces()[name] if name else None

    def volatile(self, header: str) -> bool:
        name = header.lower()
        return any(name.startswith(v[:-1]) if v.endswith("*") else name == v for v in self.volatile_headers)

    def lifecycle(self, kind: str | None) -> Lifecycle | None:
        return self._lifecycles.get(kind) if kind is not None else None

    @functools.cached_property
    def _lifecycles(self) -> dict[str, Lifecycle]:
        return {c.kind: c for c in self.lifecycles}

    def route_named(self, name: str) -> Route:
        for candidate in self.routes:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no route named {name!r}")
