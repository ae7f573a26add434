// 1000 hostile or random requests against a live server (loopback only), then checks that it
// still answers correctly, has no stuck slot, and shuts down cleanly on SIGINT.
// usage: node hostile_test.mjs SPUTNIK_BIN MODEL_DIR [COUNT]
import assert from "node:assert/strict";
import net from "node:net";
import { startServer, run, waitIdle, metrics } from "./lib.mjs";

const [bin, model, countArg] = process.argv.slice(2);
const COUNT = Number(countArg || 1000);
const server = await startServer(bin, model, ["--parallel", "2", "--ctx", "512", "--body-limit", "65536"]);
const { port, url } = server;

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const junk = () => {
  const kinds = [() => null, () => true, () => -1, () => 1e308, () => "x".repeat(Math.floor(rnd() * 50)), () => [],
                 () => ({}), () => [1, "a", null], () => "\u0000\ud800", () => 3.5, () => -0, () => "<|im_end|>"];
  return pick(kinds)();
};
const fields = ["messages", "model", "stream", "max_tokens", "temperature", "top_p", "n", "stop", "seed", "logprobs",
                "top_logprobs", "stream_options", "max_reasoning_tokens", "reasoning_effort", "prompt", "top_k", "min_p"];

function randomBody() {
  switch (Math.floor(rnd() * 8)) {
    case 0: return "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"";  // truncated JSON
    case 1: return String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(rnd() * 256)));
    case 2: return JSON.stringify(junk());
    case 3: {  // valid shape, random field values
      const b = { messages: [{ role: "user", content: "hello" }], max_tokens: 3 };
      for (let i = 0; i < 3; i++) b[pick(fields)] = junk();
      return JSON.stringify(b);
    }
    case 4: return JSON.stringify({ messages: [{ role: pick(["user", "tool", "function", "", "USER", "assistant"]), content: junk() }], max_tokens: 2 });
    case 5: return JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 2, stream: true,
                                    n: Math.floor(rnd() * 3) + 1, stop: ["a", "b"], logprobs: true, top_logprobs: 2 });
    case 6: return "[".repeat(5000) + "]".repeat(5000);  // deep nesting
    default: return JSON.stringify({ prompt: junk(), max_tokens: 2 });
  }
}

// Raw socket garbage: not HTTP at all, or HTTP cut off mid-request.
function rawSend(data, linger = 20) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(data);
      setTimeout(() => { s.destroy(); resolve(); }, linger);
    });
    s.on("error", () => resolve());
  });
}

await run(`${COUNT} hostile requests`, async () => {
  const statuses = {};
  let inFlight = [];
  for (let i = 0; i < COUNT; i++) {
    const kind = rnd();
    let p;
    if (kind < 0.08) {
      p = rawSend(pick(["GARBAGE\r\n\r\n", "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 100000\r\n\r\n{",
                        "GET / HTTP/1.1\r\nHost: x\r\n" + "X: y\r\n".repeat(2000) + "\r\n", "\x16\x03\x01\x02\x00"]));
    } else if (kind < 0.15) {  // client that disconnects mid-stream
      const ac = new AbortController();
      p = fetch(url + "/v1/chat/completions", { method: "POST", signal: ac.signal, headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "x" }], stream: rnd() < 0.5, max_tokens: 300 }) })
        .then(async (r) => { const rd = r.body.getReader(); await rd.read(); ac.abort(); })
        .catch(() => {});
      setTimeout(() => ac.abort(), Math.floor(rnd() * 200));
    } else {
      const path = pick(["/v1/chat/completions", "/v1/chat/completions", "/v1/completions", "/v1/models", "/../../etc/passwd",
                         "/v1/chat/completions?x=%00", "/metrics", "/health", "/nope", "/v1/models/other"]);
      const method = pick(["POST", "POST", "POST", "GET", "PUT", "DELETE"]);
      const init = { method, headers: { "Content-Type": pick(["application/json", "text/plain", "x/y"]) } };
      if (method !== "GET") init.body = rnd() < 0.02 ? "x".repeat(70000) : randomBody();
      p = fetch(url + path, init).then(async (r) => {
        const text = await r.text();
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        assert.ok(r.status < 500, `status ${r.status} for ${method} ${path}: ${text.slice(0, 200)}`);
        if (r.status >= 400 && r.status !== 404) {
          const j = JSON.parse(text);
          assert.equal(typeof j.error.message, "string");
        }
      }).catch((e) => { if (e.code !== "ERR_ASSERTION" && !(e instanceof assert.AssertionError)) return; throw e; });
    }
    inFlight.push(p);
    if (inFlight.length >= 16) { await Promise.all(inFlight); inFlight = []; }
  }
  await Promise.all(inFlight);
  console.log("  statuses:", JSON.stringify(statuses));
  assert.ok((statuses[400] || 0) > COUNT / 10, "malformed bodies get 400");
  assert.ok((statuses[400] || 0) + (statuses[404] || 0) + (statuses[413] || 0) > COUNT / 2, "most requests are rejected");
});

await run("still healthy, no stuck slot, still correct", async () => {
  const m = await waitIdle(url, 60000);
  assert.equal(m.sputnik_active_sequences, 0);
  const r = await fetch(url + "/v1/chat/completions", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 5, max_reasoning_tokens: 2 }) });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.equal(j.usage.completion_tokens, 5);
  assert.equal((await fetch(url + "/health")).status, 200);
});

await run("SIGINT with a stream in flight: clean shutdown", async () => {
  const r = await fetch(url + "/v1/chat/completions", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 400, stream: true }) });
  const rd = r.body.getReader();
  await rd.read();
  await server.stop("SIGINT");
});
