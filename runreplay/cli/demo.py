"""``runreplay demo``: record from the local emulator with the official SDKs, replay offline.

The flows here are ordinary SDK code, the kind a user's test contains; the demo runs
each one twice, once recording against the emulator and once replaying with the
emulator stopped, and compares what the SDK returned.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runreplay.cassette import BodyKind, load
from runreplay.engine.session import use_cassette

if TYPE_CHECKING:
    from azure.ai.agents import AgentsClient
    from azure.ai.agents.models import Agent, AgentThread

FUNCTION_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
COZE_BOT = "7350000000000000001"
#: Between two polls of ``create_and_process``. The SDK annotates it ``int`` but passes it to
#: ``time.sleep``, and whole seconds would make the demo slow.
AZURE_POLL_SECONDS: Any = 0.1
#: The SDKs the flows call (the ``demo`` extra brings them).
SDKS = ("openai", "cozepy", "azure.ai.agents")


@contextlib.contextmanager
def quiet_imports() -> Iterator[None]:
    """SDK imports without their import-time warnings (the demo's output is for people).

    cozepy imports a deprecated authlib module, and authlib puts an "always" filter for that
    warning first when it loads: load it, then put "ignore" in front of that filter.
    """
    with warnings.catch_warnings():
        with contextlib.suppress(ImportError):
            import authlib.deprecate  # noqa: F401
        warnings.simplefilter("ignore")
        yield


def missing_sdk() -> str | None:
    """A sentence naming the first SDK the demo needs that is not installed, or None."""
    for module in SDKS:
        try:
            with quiet_imports():
                importlib.import_module(module)
        except ImportError as exc:
            return (
                f"runreplay demo records with the official SDKs, and {exc.name} is not installed: "
                "pip install 'runreplay[demo]'"
            )
    return None


def openai_tool_run(base_url: str) -> dict[str, Any]:
    """Create-and-poll a run that calls a function tool, answer it, poll to completion."""
    import openai

    client = openai.OpenAI(api_key="sk-demo-not-a-real-key", base_url=base_url, max_retries=0)
    runs = client.beta.threads.runs
    assistant = client.beta.assistants.create(model="gpt-4o-mini", name="Weather", tools=[FUNCTION_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Paris?"}])
    run = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=100)
    statuses = [run.status]
    assert run.required_action is not None, f"expected requires_action, got {run.status}"
    outputs: Any = [
        {"tool_call_id": call.id, "output": json.dumps({"city": "Paris", "celsius": 21})}
        for call in run.required_action.submit_tool_outputs.tool_calls
    ]
    run = runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs, poll_interval_ms=100
    )
    statuses.append(run.status)
    steps = runs.steps.list(thread_id=thread.id, run_id=run.id)
    return {
        "run": run.model_dump(),
        "statuses": statuses,
        "steps": [s.type for s in steps.data],
    }


def coze_chat(base_url: str) -> dict[str, Any]:
    """A Coze chat polled to completion, then the same question streamed."""
    with quiet_imports():
        from cozepy import Coze, Message, TokenAuth

    coze = Coze(auth=TokenAuth("pat_demo_not_a_real_token"), base_url=base_url)
    question = [Message.build_user_question_text("What can you do?")]
    polled = coze.chat.create_and_poll(bot_id=COZE_BOT, user_id="demo-user", additional_messages=question)
    events = [
        event.event.value
        for event in coze.chat.stream(bot_id=COZE_BOT, user_id="demo-user", additional_messages=question)
    ]
    return {
        "chat": polled.chat.model_dump(),
        "answers": [m.content for m in polled.messages or [] if m.type.value == "answer"],
        "stream_events": events,
    }


def openai_background_response(base_url: str) -> dict[str, Any]:
    """A background response that calls a function tool, polled with ``time.sleep`` until it is
    done; the next response answers the call (``function_call_output`` + ``previous_response_id``)."""
    import openai

    client = openai.OpenAI(api_key="sk-demo-not-a-real-key", base_url=base_url, max_retries=0)
    tool: Any = {"type": "function", "name": "get_weather", "parameters": FUNCTION_TOOL["function"]["parameters"]}
    statuses: list[str] = []

    def until_done(response: Any) -> Any:
        statuses.append(response.status)
        while response.status in ("queued", "in_progress"):
            time.sleep(0.1)
            response = client.responses.retrieve(response.id)
            if response.status != statuses[-1]:
                statuses.append(response.status)
        return response

    asked = until_done(
        client.responses.create(model="gpt-4.1-mini", input="Weather in Paris?", tools=[tool], background=True)
    )
    calls = [item for item in asked.output if item.type == "function_call"]
    answers: Any = [
        {"type": "function_call_output", "call_id": call.call_id, "output": json.dumps({"celsius": 21})}
        for call in calls
    ]
    answered = until_done(
        client.responses.create(
            model="gpt-4.1-mini", previous_response_id=asked.id, input=answers, tools=[tool], background=True
        )
    )
    return {
        "statuses": statuses,
        "calls": [call.name for call in calls],
        "text": answered.output_text,
        "response": answered.model_dump(),
    }


def get_weather(city: str) -> str:
    """Current weather for a city.

    :param city: The city's name.
    :return: The weather, as JSON.
    """
    return json.dumps({"city": city, "celsius": 21})


def weather_agent(client: AgentsClient, question: str) -> tuple[Agent, AgentThread]:
    """An agent whose ``get_weather`` tool the SDK calls by itself (``create_and_process`` and
    ``runs.stream`` answer its tool calls), and a thread asking it ``question``."""
    from azure.ai.agents.models import FunctionTool, ToolSet

    toolset = ToolSet()
    toolset.add(FunctionTool({get_weather}))
    client.enable_auto_function_calls(toolset)
    agent = client.create_agent(model="gpt-4o-mini", name="Weather", instructions="Use tools.", toolset=toolset)
    thread = client.threads.create()
    client.messages.create(thread_id=thread.id, role="user", content=question)
    return agent, thread


def azure_agent_run(base_url: str) -> dict[str, Any]:
    """An Azure AI agent with a function tool the SDK calls by itself: ``create_and_process``
    polls the run through ``requires_action`` (answered with ``submit_tool_outputs``) to the
    end; then a streamed run whose tool call the SDK's event handler answers with
    ``submit_tool_outputs_stream``, the events continuing in the same iteration."""
    from runreplay.emulator.azure_agents import agents_client

    client = agents_client(base_url)
    agent, thread = weather_agent(client, "Weather in Paris?")
    run = client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=AZURE_POLL_SECONDS)
    steps = [step["type"] for step in client.run_steps.list(thread_id=thread.id, run_id=run.id)]
    client.messages.create(thread_id=thread.id, role="user", content="And in Oslo?")
    with client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
        events = [str(name) for name, _, _ in stream]
    answers = [
        m.text_messages[-1].text.value for m in client.messages.list(thread_id=thread.id) if m.role == "assistant"
    ]
    client.delete_agent(agent.id)
    return {
        "run": run.as_dict(),
        "steps": steps,
        "stream_events": events,
        "answers": answers,
    }


#: Each flow with the provider whose emulated API it calls.
FLOWS: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "openai_tool_run": (openai_tool_run, "openai"),
    "openai_background_response": (openai_background_response, "openai-responses"),
    "coze_chat": (coze_chat, "coze"),
    "azure_agent_run": (azure_agent_run, "azure"),
}


def _summarise(path: Path) -> str:
    cassette = load(path)
    events: Counter[str] = Counter()
    for item in cassette:
        if item.response.body.kind is BodyKind.SSE:
            events.update(e.event or "message" for e in item.response.body.events)
    streams = f", {sum(events.values())} SSE events" if events else ""
    return f"{len(cassette)} interactions{streams}"


def run_demo(out: Path | None, echo: Callable[[str], None] = print) -> bool:
    from runreplay.emulator import Emulator

    folder = out or Path(tempfile.mkdtemp(prefix="runreplay-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    recorded: dict[str, dict[str, Any]] = {}
    echo("1. recording from the local emulator (127.0.0.1, no API key, no network)")
    with Emulator(port=0, phase_seconds=0.2) as emulator:
        for name, (flow, provider) in FLOWS.items():
            path = folder / f"{name}.json"
            started = time.perf_counter()
            with use_cassette(path, record_mode="rewrite"):
                recorded[name] = flow(emulator.url(provider))
            echo(f"   {name}: {_summarise(path)} in {time.perf_counter() - started:.2f}s -> {path}")
    echo("2. emulator stopped; replaying offline (unmatched requests fail)")
    ok = True
    offline = Emulator(port=9).base_urls  # nothing listens there: any base URL works, hosts do not match
    lifecycles: list[str] = []
    for name, (flow, provider) in FLOWS.items():
        path = folder / f"{name}.json"
        started = time.perf_counter()
        with use_cassette(path, record_mode="none") as session:
            replayed = flow(offline[provider])
        same = replayed == recorded[name]
        ok &= same
        echo(
            f"   {name}: {session.replayed_count} interactions replayed in "
            f"{time.perf_counter() - started:.2f}s ({session.virtual_seconds:.1f}s of sleeps skipped), "
            f"result {'identical' if same else 'DIFFERENT'}"
        )
        lifecycles += [f"{r.timeline.kind} {' -> '.join(r.states)}" for r in session.resources]
    echo("3. what replayed")
    for lifecycle in lifecycles:
        echo(f"   {lifecycle}")
    echo(f"   cassettes in {folder}")
    echo("demo " + ("passed: replay reproduced every recorded result" if ok else "FAILED: replay differed"))
    return ok
