// openai-node: createAndPoll a run that calls a function tool, answer it with
// submitToolOutputsAndPoll, read the answer.
import { labeller, main } from "./_common.mjs";
import { answerCalls, client, pollOptions, runAskingForTool, transcript } from "./_openai.mjs";

await main("openai_create_and_poll", async (settings) => {
  const openai = client(settings);
  const ref = labeller();
  const { thread, run: asked } = await runAskingForTool(openai, settings);
  const { calls, outputs } = answerCalls(asked, ref);
  const done = await openai.beta.threads.runs.submitToolOutputsAndPoll(
    thread.id,
    asked.id,
    { tool_outputs: outputs },
    pollOptions(settings),
  );
  return {
    run: ref("run", asked.id),
    same_run: done.id === asked.id,
    statuses: [asked.status, done.status],
    tool_calls: calls,
    messages: await transcript(openai, thread.id),
  };
});
