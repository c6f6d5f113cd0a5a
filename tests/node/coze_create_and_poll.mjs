// coze-js: chat.createAndPoll with a bot that calls a function tool, answer it with
// submitToolOutputs (not streamed), poll the chat to its end, list its messages.
import { labeller, main, sleep } from "./_common.mjs";
import { answerCalls, chatRequest, client, messageView } from "./_coze.mjs";

const FINAL = new Set(["completed", "failed", "canceled", "requires_action"]);

await main("coze_create_and_poll", async (settings) => {
  const coze = client(settings);
  const ref = labeller();
  const first = await coze.chat.createAndPoll(chatRequest(settings));
  const { chat } = first;
  const { calls, outputs } = answerCalls(chat, ref);
  const submit = coze.chat.submitToolOutputs({
    conversation_id: chat.conversation_id,
    chat_id: chat.id,
    tool_outputs: outputs,
    stream: false,
  });
  // Not streamed, the generator returns the chat at once instead of yielding events.
  const submitted = (await submit.next()).value;
  let current = submitted;
  const seen = [submitted.status];
  while (!FINAL.has(current.status)) {
    // coze-js's own poll loop sleeps 100 ms; the same here unless the caller asked otherwise.
    await sleep(settings.pollMs ?? 100);
    current = await coze.chat.retrieve(chat.conversation_id, chat.id);
    if (seen.at(-1) !== current.status) seen.push(current.status);
  }
  const messages = await coze.chat.messages.list(chat.conversation_id, chat.id);
  return {
    chat: ref("chat", chat.id),
    conversation: ref("conversation", chat.conversation_id),
    statuses: [chat.status, ...seen],
    tool_calls: calls,
    messages_at_tool_call: first.messages.map(messageView),
    messages: messages.map(messageView),
    usage_reported: current.usage !== undefined,
  };
});
