// coze-js: chat.stream with a bot that calls a function tool, answer it with a streamed
// submitToolOutputs, collect both streams' events.
import { labeller, main } from "./_common.mjs";
import { answerCalls, chatRequest, client } from "./_coze.mjs";

/** A stream's event names, the last chat it reported, and the answer text it streamed. */
async function drain(stream) {
  const events = [];
  let chat = null;
  let text = "";
  for await (const part of stream) {
    events.push(part.event);
    if (part.event.startsWith("conversation.chat.")) chat = part.data;
    if (part.event === "conversation.message.delta" && part.data.type === "answer") text += part.data.content;
  }
  return { events, chat, text };
}

await main("coze_stream", async (settings) => {
  const coze = client(settings);
  const ref = labeller();
  const first = await drain(coze.chat.stream(chatRequest(settings)));
  const { calls, outputs } = answerCalls(first.chat, ref);
  const second = await drain(
    coze.chat.submitToolOutputs({
      conversation_id: first.chat.conversation_id,
      chat_id: first.chat.id,
      tool_outputs: outputs,
      stream: true,
    }),
  );
  return {
    chats: [ref("chat", first.chat.id), ref("chat", second.chat.id)],
    statuses: [first.chat.status, second.chat.status],
    tool_calls: calls,
    events: [first.events, second.events],
    answer: second.text,
  };
});
