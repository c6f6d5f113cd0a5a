// openai-node pieces the OpenAI flows share: the client, an assistant with a function tool, a
// thread with one question, and the tool outputs a client would send back.
import OpenAI from "openai";

export const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

export function client({ baseURL, apiKey }) {
  // No retries: a replay server that misses must fail the flow, not be asked again.
  return new OpenAI({ baseURL, apiKey, maxRetries: 0 });
}

/** An assistant with the weather tool and a thread asking for it. */
export async function setUp(openai) {
  const assistant = await openai.beta.assistants.create({ model: "gpt-4o-mini", tools: [WEATHER] });
  const thread = await openai.beta.threads.create({
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
  });
  return { assistant, thread };
}

/** A thread whose run (createAndPoll) waits for the weather tool's output: ``{thread, run}``. */
export async function runAskingForTool(openai, settings) {
  const { assistant, thread } = await setUp(openai);
  const run = await openai.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistant.id }, pollOptions(settings));
  return { thread, run };
}

/** The poll helpers' options: a caller's interval, or none to leave pacing to the server. */
export const pollOptions = ({ pollMs }) => (pollMs === undefined ? {} : { pollIntervalMs: pollMs });

/** The requested calls, summarised, and an answer for each. */
export function answerCalls(run, ref) {
  const calls = run.required_action?.submit_tool_outputs.tool_calls ?? [];
  return {
    calls: calls.map((c) => ({ id: ref("call", c.id), name: c.function.name, arguments: JSON.parse(c.function.arguments) })),
    outputs: calls.map((c) => ({ tool_call_id: c.id, output: `sunny, 21 C (${c.function.name})` })),
  };
}

/** The thread's messages, oldest first, as role and text. */
export async function transcript(openai, threadId) {
  const page = await openai.beta.threads.messages.list(threadId, { order: "asc" });
  return page.data.map((m) => ({
    role: m.role,
    text: m.content.map((part) => (part.type === "text" ? part.text.value : `[${part.type}]`)).join(""),
  }));
}
