// 8 parallel streams are decoded together (one batched forward per step) and all complete;
// prints single-stream vs 8-stream throughput.
// usage: node concurrency_test.mjs SPUTNIK_BIN MODEL_DIR [MAX_TOKENS] [EXTRA_SERVER_ARGS...]
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startServer, run, waitIdle, metrics } from "./lib.mjs";

const [bin, model, maxArg, ...extra] = process.argv.slice(2);
const MAX = Number(maxArg || 48);
const server = await startServer(bin, model, ["--parallel", "8", "--ctx", "1024", ...extra]);
const client = new OpenAI({ baseURL: server.url + "/v1", apiKey: "none", maxRetries: 0 });

async function stream(i) {
  const s = await client.chat.completions.create({
    model: "m", stream: true, stream_options: { include_usage: true }, max_tokens: MAX, temperature: 0, seed: i,
    max_reasoning_tokens: 4, messages: [{ role: "system", content: "You are a helpful assistant. ".repeat(8) },
                                         { role: "user", content: `Question number ${i}` }] });
  let tokens = 0, text = "";
  for await (const c of s) {
    if (c.usage) tokens = c.usage.completion_tokens;
    for (const ch of c.choices) text += (ch.delta.content || "") + (ch.delta.reasoning_content || "");
  }
  return { tokens, text };
}

async function timed(n) {
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: n }, (_, i) => stream(i)));
  const secs = (performance.now() - t0) / 1000;
  const tokens = rs.reduce((a, r) => a + r.tokens, 0);
  return { rs, secs, tokens, rate: tokens / secs };
}

await run("8 concurrent streams batched together", async () => {
  await timed(1);  // warm up (page in the weights)
  const one = await timed(1);
  const before = await metrics(server.url);
  const eight = await timed(8);
  const after = await waitIdle(server.url);
  for (const r of eight.rs) assert.equal(r.tokens, MAX);
  assert.ok(after.sputnik_max_batch >= 6, "decode steps held many sequences: " + after.sputnik_max_batch);
  const steps = after.sputnik_steps_total - before.sputnik_steps_total;
  assert.ok(steps < 8 * MAX * 0.6, `8x${MAX} tokens took ${steps} forward steps`);
  assert.ok(after.sputnik_prompt_tokens_cached_total > before.sputnik_prompt_tokens_cached_total, "shared system prompt reused");
  console.log(`  1 stream: ${one.rate.toFixed(1)} tok/s; 8 streams: ${eight.rate.toFixed(1)} tok/s aggregate ` +
              `(${(eight.rate / one.rate).toFixed(2)}x); ${steps} steps for ${eight.tokens} tokens`);
});

await server.stop();
