// openai-node: cancel a run while it waits for a tool output, then poll it to its end.
// (Waiting in requires_action makes the cancel land in the same state on every server.)
import { labeller, main } from "./_common.mjs";
import { client, pollOptions, runAskingForTool } from "./_openai.mjs";

await main("openai_cancel", async (settings) => {
  const openai = client(settings);
  const ref = labeller();
  const { thread, run: asked } = await runAskingForTool(openai, settings);
  const runs = openai.beta.threads.runs;
  const cancelling = await runs.cancel(thread.id, asked.id);
  const ended = await runs.poll(thread.id, asked.id, pollOptions(settings));
  return {
    run: ref("run", asked.id),
    statuses: [asked.status, cancelling.status, ended.status],
    cancelled_at_set: ended.cancelled_at !== null,
  };
});
