// openai-node: stream a run that calls a function tool, answer it with submitToolOutputsStream.
import { labeller, main } from "./_common.mjs";
import { answerCalls, client, setUp } from "./_openai.mjs";

/** Every event of an AssistantStream: its names, the run it ended with, the text it streamed. */
async function drain(stream, ref) {
  const events = [];
  let run = null;
  let text = "";
  for await (const event of stream) {
    events.push(event.event);
    if (event.event.startsWith("thread.run.") && !event.event.startsWith("thread.run.step.")) {
      run = event.data;
    } else if (event.event === "thread.message.delta") {
      for (const part of event.data.delta.content ?? []) text += part.type === "text" ? (part.text?.value ?? "") : "";
    }
  }
  return { events, run, text, runRef: run && ref("run", run.id) };
}

await main("openai_stream", async (settings) => {
  const openai = client(settings);
  const ref = labeller();
  const { assistant, thread } = await setUp(openai);
  const first = await drain(openai.beta.threads.runs.stream(thread.id, { assistant_id: assistant.id }), ref);
  const { calls, outputs } = answerCalls(first.run, ref);
  const second = await drain(
    openai.beta.threads.runs.submitToolOutputsStream(thread.id, first.run.id, { tool_outputs: outputs }),
    ref,
  );
  return {
    runs: [first.runRef, second.runRef],
    statuses: [first.run.status, second.run.status],
    tool_calls: calls,
    events: [first.events, second.events],
    answer: second.text,
  };
});
