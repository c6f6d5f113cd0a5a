// openai-node: finish a tool run, then walk its steps one page of one step at a time
// (runs.steps.list with limit, hasNextPage/getNextPage), and once more with for-await.
import { labeller, main } from "./_common.mjs";
import { answerCalls, client, pollOptions, runAskingForTool } from "./_openai.mjs";

await main("openai_steps_pages", async (settings) => {
  const openai = client(settings);
  const ref = labeller();
  const { thread, run: asked } = await runAskingForTool(openai, settings);
  const runs = openai.beta.threads.runs;
  const { outputs } = answerCalls(asked, ref);
  const done = await runs.submitToolOutputsAndPoll(thread.id, asked.id, { tool_outputs: outputs }, pollOptions(settings));

  const step = (s) => ({ id: ref("step", s.id), type: s.type, status: s.status });
  const pages = [];
  let page = await runs.steps.list(thread.id, done.id, { limit: 1, order: "asc" });
  for (;;) {
    pages.push(page.data.map(step));
    if (!page.hasNextPage()) break;
    page = await page.getNextPage();
  }
  const walked = [];
  for await (const s of runs.steps.list(thread.id, done.id, { limit: 1, order: "asc" })) walked.push(step(s));
  return { run: ref("run", done.id), status: done.status, pages, auto_paginated: walked };
});
