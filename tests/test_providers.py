"""The provider registry: every route of every API family is complete, and routing is query-aware.

A provider module is the one place an API family is declared; these tests hold each
declaration to what the rest of runreplay reads from it: types that resolve in every API
version, a role, a lifecycle and resource id for lifecycle routes, an emulator method or a
stated reason, vendor-spec pairs that name real schemas.
"""

from __future__ import annotations

import re

import pytest

from runreplay.cassette import Body, Request
from runreplay.emulator.server import emulator_classes
from runreplay.providers import find, registry
from runreplay.providers.base import LIFECYCLE_ROLES, Provider, Role, Route, route
from runreplay.schema._ids import schema_id
from runreplay.schema.catalog import namespaces
from runreplay.schema.registry import schemas_by_id

ROUTES = [(p, r) for p in registry() for r in p.routes]
IDS = [f"{p.name}:{r.name}" for p, r in ROUTES]


def test_the_registry_finds_every_provider_module() -> None:
    assert [p.name for p in registry()] == ["azure", "coze", "openai", "openai-responses"]
    assert all(isinstance(p, Provider) for p in registry())


def test_route_names_are_unique_within_a_provider() -> None:
    for provider in registry():
        names = [r.name for r in provider.routes]
        assert len(names) == len(set(names)), provider.name


@pytest.mark.parametrize(("provider", "route"), ROUTES, ids=IDS)
def test_every_route_has_types_in_every_api_version(provider: Provider, route: Route) -> None:
    assert route.response, "every route names the type of its reply"
    for version, name in provider.namespaces.items():
        space = namespaces()[name]
        for type_name in filter(None, (route.response, route.request, route.query)):
            assert type_name in space.types, f"{type_name} is not a type of {provider.name} {version}"
        if route.stream:
            assert space.events, f"{route.name} streams but {name} declares no stream events"


@pytest.mark.parametrize(("provider", "route"), ROUTES, ids=IDS)
def test_every_route_has_a_role_and_lifecycle_routes_name_their_resource(provider: Provider, route: Route) -> None:
    assert isinstance(route.role, Role)
    if route.role in LIFECYCLE_ROLES:
        assert provider.lifecycle(route.resource) is not None, f"{route.name} names no declared lifecycle"
        if route.role is not Role.CREATE:
            assert route.resource_id is not None, f"{route.name} must say where the request names its resource"
    else:
        assert route.resource is None


@pytest.mark.parametrize(("provider", "route"), ROUTES, ids=IDS)
def test_every_route_is_emulated_or_says_why_not(provider: Provider, route: Route) -> None:
    emulator = emulator_classes().get(provider.name)
    handler = getattr(emulator, route.name, None) if emulator is not None else None
    if route.not_emulated is None:
        assert callable(handler), f"the {provider.name} emulator has no method {route.name}"
    else:
        assert route.not_emulated.strip(), "a route that is not emulated says why"
        assert handler is None, f"{route.name} is emulated after all: drop not_emulated"


@pytest.mark.parametrize(("provider", "route"), ROUTES, ids=IDS)
def test_every_route_routes_to_itself(provider: Provider, route: Route) -> None:
    path = re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1)}_42", route.path)
    query = "&".join(f"{k}={v}" for k, v in route.when)
    url = f"https://example.test{provider.emulator_mount}{path}" + (f"?{query}" if query else "")
    for method in route.methods:
        found = find(Request(method, url))
        assert found is not None and found.provider is provider and found.route is route, (method, url)
        assert found.params == {name: f"{name}_42" for name in re.findall(r"\{(\w+)\}", route.path)}


def test_every_lifecycle_has_its_routes() -> None:
    for provider in registry():
        for lifecycle in provider.lifecycles:
            roles = {r.role for r in provider.routes if r.resource == lifecycle.kind}
            assert {Role.CREATE, Role.POLL} <= roles, f"{provider.name} {lifecycle.kind}"
            if lifecycle.submit is not None:
                # An answer to tool calls moves its own resource on (a run's submit), or creates
                # the next resource, naming the one it answers (a response's previous_response_id).
                submit = provider.route_named(lifecycle.submit)
                assert submit.role is (Role.MUTATE if lifecycle.answers is None else Role.CREATE)
            assert lifecycle.terminal


def test_vendor_spec_pairs_name_real_schemas() -> None:
    known = schemas_by_id()
    for provider in registry():
        if provider.spec is None:
            continue
        for pair in provider.spec.pairs:
            assert schema_id(pair.ours) in known, pair.ours
        for namespace, _ in provider.spec.event_lists:
            assert namespace in provider.namespaces.values()


def test_every_emulator_serves_a_provider() -> None:
    names = {p.name for p in registry()}
    assert set(emulator_classes()) <= names


# ---------------------------------------------------------------------------- query-aware routing


def _provider(*routes: Route) -> Provider:
    base = registry()[0]
    return Provider(
        name="probe",
        title="Probe",
        hosts=re.compile(r"^probe\.test$"),
        prefix=re.compile(r"^/v1(?=/)"),
        routes=routes,
        namespaces={},
        version_of=lambda request: "v1",
        error_of=lambda response: None,
        stream_error=base.stream_error,
    )


def test_a_query_parameter_selects_its_own_route() -> None:
    """A retrieve that streams (``?stream=true``) is another route than the poll of the same path."""
    poll = route("GET", "/things/{thing_id}", "retrieve_thing", "Thing", Role.CALL)
    resume = route(
        "GET", "/things/{thing_id}", "resume_thing_stream", "Thing", Role.STREAM_RESUME, when=(("stream", "true"),)
    )
    probe = _provider(poll, resume)  # declared before or after the plain route: the query decides
    reversed_probe = _provider(resume, poll)
    for provider in (probe, reversed_probe):
        plain = provider.find(Request("GET", "https://probe.test/v1/things/t1"))
        streamed = provider.find(Request("GET", "https://probe.test/v1/things/t1?starting_after=3&stream=true"))
        other = provider.find(Request("GET", "https://probe.test/v1/things/t1?stream=false"))
        assert plain is not None and plain[0] is poll and plain[1] == {"thing_id": "t1"}
        assert streamed is not None and streamed[0] is resume
        assert other is not None and other[0] is poll
    assert resume.endpoint == "GET /things/{thing_id}?stream=true"


def test_literal_segments_win_over_parameters() -> None:
    runs = route("POST", "/threads/runs", "create_thread_and_run", "Run")
    thread = route("POST", "/threads/{thread_id}", "modify_thread", "Thread")
    probe = _provider(thread, runs)
    found = probe.find(Request("POST", "https://probe.test/v1/threads/runs", body=Body.json({})))
    assert found is not None and found[0] is runs
