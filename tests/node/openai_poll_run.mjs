// openai-node: createAndPoll a run on an existing thread and assistant (RUNREPLAY_THREAD,
// RUNREPLAY_ASSISTANT), for benchmarks/node_serve.py: a recorded polling lifecycle and nothing else.
import { main } from "./_common.mjs";
import { client, pollOptions } from "./_openai.mjs";

await main("openai_poll_run", async (settings) => {
  const run = await client(settings).beta.threads.runs.createAndPoll(
    process.env.RUNREPLAY_THREAD,
    { assistant_id: process.env.RUNREPLAY_ASSISTANT },
    pollOptions(settings),
  );
  return { status: run.status };
});
