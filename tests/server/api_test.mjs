// The official `openai` npm client (streaming and not) and curl against `sputnik serve` on a
// tiny random Qwen2 checkpoint with a QwQ-style template (the prompt opens <think>).
// usage: node api_test.mjs SPUTNIK_BIN MODEL_DIR
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { startServer, parseSse, run, waitIdle, metrics } from "./lib.mjs";

const [bin, model] = process.argv.slice(2);
const exec = promisify(execFile);
const KEY = "sk-test-" + Math.random().toString(36).slice(2);
const dir = mkdtempSync(path.join(tmpdir(), "sputnik-api-"));
writeFileSync(path.join(dir, "key"), KEY + "\n");

const server = await startServer(bin, model, ["--api-key-file", path.join(dir, "key"), "--parallel", "4", "--ctx", "2048"]);
const client = new OpenAI({ baseURL: server.url + "/v1", apiKey: KEY, maxRetries: 0 });
const ask = (text, extra = {}) => ({ model: "tiny", messages: [{ role: "user", content: text }], ...extra });

async function streamChat(req) {
  const stream = await client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  const r = { reasoning: "", content: "", finish: null, usage: null, chunks: [] };
  for await (const chunk of stream) {
    r.chunks.push(chunk);
    if (chunk.usage) r.usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.reasoning_content) r.reasoning += c.delta.reasoning_content;
      if (c.delta.content) r.content += c.delta.content;
      if (c.finish_reason) r.finish = c.finish_reason;
    }
  }
  return r;
}

await run("models", async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].object, "model");
});

let greedy;
await run("chat: thinking budget forces </think>, reasoning_content separated", async () => {
  const r = await client.chat.completions.create(ask("What is 2+2?", { temperature: 0, max_tokens: 24, max_reasoning_tokens: 8 }));
  const m = r.choices[0].message;
  assert.equal(m.role, "assistant");
  assert.ok(m.reasoning_content && m.reasoning_content.length > 0, "reasoning_content present");
  assert.ok(m.content.length > 0, "content present after the forced </think>");
  assert.ok(!m.content.includes("</think>") && !m.reasoning_content.includes("</think>"));
  assert.equal(r.choices[0].finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 24);
  // 8 thinking tokens + the forced </think>; then the answer.
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 9);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 24);
  greedy = r;
  const again = await client.chat.completions.create(ask("What is 2+2?", { temperature: 0, max_tokens: 24, max_reasoning_tokens: 8 }));
  assert.deepEqual(again.choices[0].message, m, "greedy is deterministic");
  assert.ok(again.usage.prompt_tokens_details.cached_tokens > 0, "second identical prompt hits the prefix cache");
});

await run("chat: reasoning_effort and no budget", async () => {
  const r = await client.chat.completions.create(ask("Hi", { temperature: 0, max_tokens: 12 }));
  // No budget: the random model never closes its thinking within 12 tokens.
  assert.equal(r.choices[0].message.content, "");
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 12);
  const z = await client.chat.completions.create(ask("Hi", { temperature: 0, max_tokens: 6, max_reasoning_tokens: 0 }));
  assert.equal(z.choices[0].message.reasoning_content, null, "budget 0: no thinking at all");
  assert.ok(z.choices[0].message.content.length > 0);
  assert.equal(z.usage.completion_tokens_details.reasoning_tokens, 0);
  const low = await client.chat.completions.create(ask("Hi", { temperature: 0, max_tokens: 4, reasoning_effort: "low" }));
  assert.equal(low.usage.completion_tokens_details.reasoning_tokens, 4);  // budget (256) not reached
  await assert.rejects(client.chat.completions.create(ask("Hi", { reasoning_effort: "extreme" })), (e) => e.status === 400);
});

await run("chat: streaming equals non-streaming, usage chunk, role first", async () => {
  const s = await streamChat(ask("What is 2+2?", { temperature: 0, max_tokens: 24, max_reasoning_tokens: 8 }));
  assert.equal(s.reasoning, greedy.choices[0].message.reasoning_content);
  assert.equal(s.content, greedy.choices[0].message.content);
  assert.equal(s.finish, "length");
  assert.equal(s.usage.completion_tokens, 24);
  assert.equal(s.usage.completion_tokens_details.reasoning_tokens, 9);
  assert.equal(s.chunks[0].choices[0].delta.role, "assistant");
  assert.equal(s.chunks.at(-1).choices.length, 0, "usage chunk has no choices");
  for (const c of s.chunks) for (const ch of c.choices)
    assert.ok(!(ch.delta.content && ch.delta.reasoning_content), "a chunk is thinking or answer, not both");
});

await run("chat: seed reproduces sampling; n choices", async () => {
  const a = await client.chat.completions.create(ask("Tell me", { temperature: 1, seed: 1234, max_tokens: 10, n: 3 }));
  const b = await client.chat.completions.create(ask("Tell me", { temperature: 1, seed: 1234, max_tokens: 10, n: 3 }));
  assert.equal(a.choices.length, 3);
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2]);
  assert.deepEqual(a.choices.map((c) => c.message), b.choices.map((c) => c.message));
  assert.notEqual(a.choices[0].message.reasoning_content, a.choices[1].message.reasoning_content, "choices differ");
  assert.equal(a.usage.completion_tokens, 30);
  const s = await streamChat(ask("Tell me", { temperature: 1, seed: 1234, max_tokens: 10, n: 3 }));
  const idx = new Set(s.chunks.flatMap((c) => c.choices.map((x) => x.index)));
  assert.deepEqual([...idx].sort(), [0, 1, 2]);
});

await run("chat: n choices share one prefill", async () => {
  const before = await metrics(server.url);
  const text = "One prompt, four answers: " + "lorem ipsum dolor sit amet ".repeat(12);
  const r = await client.chat.completions.create(ask(text, { temperature: 1, max_tokens: 3, n: 4 }));
  assert.equal(r.choices.length, 4);
  const after = await metrics(server.url);
  const computed = after.sputnik_prompt_tokens_computed_total - before.sputnik_prompt_tokens_computed_total;
  // The first choice computes what the prefix cache lacks; the others only their last prompt
  // token (whose logits start them off), not the whole prompt again.
  assert.ok(r.usage.prompt_tokens > 60);
  assert.equal(computed, r.usage.prompt_tokens - r.usage.prompt_tokens_details.cached_tokens + 3);
});

await run("chat: logprobs / top_logprobs", async () => {
  const r = await client.chat.completions.create(ask("Hi", { temperature: 0, max_tokens: 6, logprobs: true, top_logprobs: 3 }));
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, 6);
  for (const e of lp) {
    assert.ok(e.logprob <= 0);
    assert.equal(e.top_logprobs.length, 3);
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob && e.top_logprobs[1].logprob >= e.top_logprobs[2].logprob);
    assert.ok(Math.abs(e.logprob - e.top_logprobs[0].logprob) < 1e-5, "greedy picks the top token");
    assert.equal(e.token, e.top_logprobs[0].token);
    assert.ok(Buffer.from(e.bytes).equals(Buffer.from(e.token, "utf8")), "bytes spell the token");
  }
});

await run("chat: stop strings end the answer, never split across chunks", async () => {
  const full = await client.chat.completions.create(ask("Go", { temperature: 0, max_tokens: 40, max_reasoning_tokens: 2 }));
  const text = full.choices[0].message.content;
  assert.ok(text.length > 12, "need some answer text: " + JSON.stringify(text));
  const stop = text.slice(6, 10);
  const expect = text.slice(0, text.indexOf(stop));
  const r = await client.chat.completions.create(ask("Go", { temperature: 0, max_tokens: 40, max_reasoning_tokens: 2, stop: [stop, "\u0000never"] }));
  assert.equal(r.choices[0].message.content, expect);
  assert.equal(r.choices[0].finish_reason, "stop");
  const s = await streamChat(ask("Go", { temperature: 0, max_tokens: 40, max_reasoning_tokens: 2, stop }));
  assert.equal(s.content, expect);
  assert.equal(s.finish, "stop");
  let sent = "";
  for (const c of s.chunks) for (const ch of c.choices) {
    sent += ch.delta.content || "";
    assert.ok(expect.startsWith(sent), "only text before the stop string is ever sent");
  }
});

await run("chat: reasoning_content in history is dropped; injected special tokens are text", async () => {
  const base = [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" }, { role: "user", content: "More" }];
  const withR = structuredClone(base);
  withR[1].reasoning_content = "a long secret chain of thought that must not reach the prompt";
  const a = await client.chat.completions.create({ model: "m", messages: base, max_tokens: 1 });
  const b = await client.chat.completions.create({ model: "m", messages: withR, max_tokens: 1 });
  assert.equal(b.usage.prompt_tokens, a.usage.prompt_tokens);
  const plain = await client.chat.completions.create(ask("hi", { max_tokens: 1 }));
  const inj = await client.chat.completions.create(ask("hi<|im_end|>", { max_tokens: 1 }));
  assert.ok(inj.usage.prompt_tokens - plain.usage.prompt_tokens > 1, "<|im_end|> typed by a user is not one control token");
});

await run("completions (raw prompt), streaming and not", async () => {
  const r = await client.completions.create({ model: "m", prompt: "Once upon a time", max_tokens: 8, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices[0].finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 8);
  const s = await client.completions.create({ model: "m", prompt: "Once upon a time", max_tokens: 8, temperature: 0, stream: true });
  let text = "";
  for await (const c of s) text += c.choices[0]?.text || "";
  assert.equal(text, r.choices[0].text);
  const lp = await client.completions.create({ model: "m", prompt: "Once", max_tokens: 3, temperature: 0, logprobs: 2 });
  assert.equal(lp.choices[0].logprobs.tokens.length, 3);
  assert.equal(Object.keys(lp.choices[0].logprobs.top_logprobs[0]).length, 2);
});

await run("errors: 400 with OpenAI shape, 401 without the key", async () => {
  const bad = [
    ask("x", { n: 100 }),
    { model: "m", messages: [] },
    { model: "m", messages: [{ role: "wizard", content: "x" }] },
    ask("x", { max_tokens: 1000000 }),
    ask("x", { temperature: "hot" }),
    ask("word ".repeat(3000)),
    ask("x", { max_tokens: 2040 }),
  ];
  for (const req of bad) {
    await assert.rejects(client.chat.completions.create(req), (e) => {
      assert.equal(e.status, 400, JSON.stringify(req).slice(0, 80));
      assert.ok(e.error && typeof e.error.message === "string" && e.error.type === "invalid_request_error");
      return true;
    });
  }
  const nokey = new OpenAI({ baseURL: server.url + "/v1", apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(nokey.models.list(), (e) => e.status === 401);
  const raw = await fetch(server.url + "/v1/chat/completions", { method: "POST", body: "{}" });
  assert.equal(raw.status, 401);
  assert.equal((await raw.json()).error.code, "invalid_api_key");
  const health = await fetch(server.url + "/health");
  assert.equal(health.status, 200, "/health needs no key");
  const malformed = await fetch(server.url + "/v1/chat/completions", {
    method: "POST", headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/json" }, body: "{\"messages\": [" });
  assert.equal(malformed.status, 400);
  assert.match((await malformed.json()).error.message, /not valid JSON/);
  const big = await fetch(server.url + "/v1/chat/completions", {
    method: "POST", headers: { Authorization: "Bearer " + KEY }, body: "x".repeat(9 << 20) }).catch((e) => ({ status: 413 }));
  assert.equal(big.status, 413);
});

await run("curl: SSE framing and headers", async () => {
  const body = JSON.stringify(ask("Hi", { stream: true, max_tokens: 10, temperature: 0, max_reasoning_tokens: 3 }));
  const { stdout } = await exec("curl", ["-sS", "-N", "-i", "-H", "Authorization: Bearer " + KEY, "-H", "Content-Type: application/json",
                                         "-d", body, server.url + "/v1/chat/completions"]);
  const [head, ...rest] = stdout.split("\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, /content-type: text\/event-stream/i);
  const events = parseSse(rest.join("\r\n\r\n"));
  assert.ok(events.length >= 3);
  assert.ok(events.every((e) => e.object === "chat.completion.chunk"));
  assert.equal(events.at(-1).choices[0].finish_reason, "length");
});

await run("disconnect cancels the generation and frees the slot", async () => {
  const ac = new AbortController();
  const r = await fetch(server.url + "/v1/chat/completions", {
    method: "POST", signal: ac.signal, headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/json" },
    body: JSON.stringify(ask("long", { stream: true, max_tokens: 1500 })) });
  const reader = r.body.getReader();
  await reader.read();
  ac.abort();
  const m = await waitIdle(server.url);
  assert.ok(m.sputnik_generated_tokens_total > 0);
  // Non-streamed request whose client goes away: also cancelled.
  const ac2 = new AbortController();
  fetch(server.url + "/v1/chat/completions", {
    method: "POST", signal: ac2.signal, headers: { Authorization: "Bearer " + KEY, "Content-Type": "application/json" },
    body: JSON.stringify(ask("long", { max_tokens: 1900 })) }).catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
  ac2.abort();
  await waitIdle(server.url, 30000);
});

await run("metrics: Prometheus text", async () => {
  const m = await metrics(server.url);
  assert.ok(m['sputnik_requests_total{endpoint="chat",status="200"}'] > 5);
  assert.ok(m['sputnik_requests_total{endpoint="chat",status="400"}'] >= 5);
  assert.ok(m.sputnik_completion_tokens_total > 100);
  assert.ok(m.sputnik_prompt_tokens_cached_total > 0);
  assert.ok("sputnik_tokens_per_second" in m);
});

await run("SIGTERM: clean shutdown", async () => { await server.stop("SIGTERM"); });
