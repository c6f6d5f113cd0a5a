// What every flow script shares: its command line, stable labels for ids, and its one JSON line.
//
// A flow prints {"flow", "result", "elapsed_ms"} on stdout. "result" holds only what a recorded
// and a replayed run must agree on: ids become labels in order of first sight ("run#1"), so two
// recordings from different servers compare equal too, while a reply that swaps two ids still
// shows. Timing goes to "elapsed_ms", outside the comparison.
import { parseArgs } from "node:util";

const OPTIONS = {
  "base-url": { type: "string" },
  "api-key": { type: "string" },
  // Unset: the SDK's own pacing (openai-node obeys openai-poll-after-ms, else sleeps 5 s).
  "poll-ms": { type: "string" },
  "bot-id": { type: "string" },
  "user-id": { type: "string" },
};

/** The flow's settings: flags first, then RUNREPLAY_* environment variables. */
export function settings(flow) {
  const { values } = parseArgs({ options: OPTIONS, strict: true });
  const env = process.env;
  const baseURL = values["base-url"] ?? env.RUNREPLAY_BASE_URL;
  if (!baseURL) {
    fail(flow, "no base URL: pass --base-url URL or set RUNREPLAY_BASE_URL");
  }
  const pollText = values["poll-ms"] ?? env.RUNREPLAY_POLL_MS;
  const pollMs = pollText === undefined || pollText === "" ? undefined : Number(pollText);
  if (pollMs !== undefined && !(Number.isInteger(pollMs) && pollMs > 0)) {
    fail(flow, `--poll-ms must be a whole number of milliseconds above 0, not ${JSON.stringify(pollText)}`);
  }
  return {
    baseURL,
    apiKey: values["api-key"] ?? env.RUNREPLAY_API_KEY ?? "sk-runreplay",
    pollMs,
    // A bot id containing "tool" makes the emulator's chat ask for a function call.
    botId: values["bot-id"] ?? env.RUNREPLAY_BOT_ID ?? "7379462189365198898_tool",
    // coze-js sends a random user_id when none is given, which no recording could match.
    userId: values["user-id"] ?? env.RUNREPLAY_USER_ID ?? "runreplay-user",
  };
}

/** A function giving each distinct id a label "<kind>#<n>", numbered per kind by first sight. */
export function labeller() {
  const seen = new Map();
  const counts = new Map();
  return (kind, id) => {
    if (id === undefined || id === null || id === "") return null;
    const key = `${kind}\u0000${id}`;
    if (!seen.has(key)) {
      const n = (counts.get(kind) ?? 0) + 1;
      counts.set(kind, n);
      seen.set(key, `${kind}#${n}`);
    }
    return seen.get(key);
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Run ``body`` and print its result as one JSON line; any error exits 1 with it on stderr. */
export async function main(flow, body) {
  const started = performance.now();
  try {
    const result = await body(settings(flow));
    const elapsed_ms = Math.round(performance.now() - started);
    process.stdout.write(JSON.stringify({ flow, result, elapsed_ms }) + "\n");
  } catch (error) {
    fail(flow, error?.stack ?? String(error));
  }
}

function fail(flow, message) {
  process.stderr.write(`${flow}: ${message}\n`);
  process.exit(1);
}
