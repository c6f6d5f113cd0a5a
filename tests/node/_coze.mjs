// coze-js pieces the Coze flows share: the client, the question, and the tool outputs.
import { CozeAPI } from "@coze/api";

export function client({ baseURL, apiKey }) {
  return new CozeAPI({ baseURL, token: apiKey });
}

/** The chat request: a fixed user_id (coze-js would make up a random one) and one question. */
export const chatRequest = ({ botId, userId }) => ({
  bot_id: botId,
  user_id: userId,
  additional_messages: [{ role: "user", type: "question", content: "What is the weather in Paris?", content_type: "text" }],
});

/** The calls a chat asks for, summarised, and an answer for each. */
export function answerCalls(chat, ref) {
  const calls = chat.required_action?.submit_tool_outputs.tool_calls ?? [];
  return {
    calls: calls.map((c) => ({ id: ref("call", c.id), name: c.function.name, arguments: JSON.parse(c.function.arguments) })),
    outputs: calls.map((c) => ({ tool_call_id: c.id, output: `sunny, 21 C (${c.function.name})` })),
  };
}

/** A message as the comparison sees it: role, type and content. */
export const messageView = (m) => ({ role: m.role, type: m.type, content: m.content });
