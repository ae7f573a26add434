// Shared helpers for the end-to-end server tests: start `sputnik serve` on a free loopback port,
// wait for it, stop it with a signal and check it exits cleanly.
import { spawn } from "node:child_process";
import assert from "node:assert/strict";

export async function startServer(bin, model, extra = []) {
  // One compute thread by default: the tests share a small, busy machine, where OpenMP
  // barriers across starved threads cost more than they give.
  const threads = extra.includes("-t") ? [] : ["-t", "1"];
  const args = ["serve", "-m", model, "--host", "127.0.0.1", "--port", "0", ...threads, ...extra];
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  proc.stderr.on("data", (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start:\n" + out + err)), 120000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${out}${err}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    port, url, proc,
    output: () => out + err,
    // SIGTERM (or SIGINT) must end the server promptly with status 0.
    async stop(signal = "SIGTERM") {
      const exited = new Promise((resolve) => proc.once("exit", (code, sig) => resolve({ code, sig })));
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), 20000);
      const { code, sig } = await exited;
      clearTimeout(timer);
      assert.equal(sig, null, `server killed by ${sig}:\n${out}${err}`);
      assert.equal(code, 0, `server exit code ${code}:\n${out}${err}`);
    },
  };
}

export async function metrics(url) {
  const text = await (await fetch(url + "/metrics")).text();
  const m = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const [k, v] = line.split(/ (?=[^ ]+$)/);
    m[k] = Number(v);
  }
  return m;
}

// Waits until no sequence holds a slot (a cancelled or finished request must free its slot).
export async function waitIdle(url, ms = 20000) {
  const t0 = Date.now();
  for (;;) {
    const m = await metrics(url);
    if (m.sputnik_active_sequences === 0 && m.sputnik_queue_depth === 0 && m.sputnik_requests_in_flight === 0) return m;
    if (Date.now() - t0 > ms) throw new Error("server never became idle: " + JSON.stringify(m));
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Parses an SSE body into the JSON of each data: line; checks the framing on the way.
export function parseSse(body) {
  assert.ok(body.endsWith("data: [DONE]\n\n"), "stream must end with data: [DONE]");
  const events = body.split("\n\n").filter((e) => e.length > 0);
  const out = [];
  for (const e of events) {
    if (e.startsWith(":")) continue;  // keep-alive comment
    assert.ok(e.startsWith("data: "), "each event is one data: line: " + JSON.stringify(e));
    assert.ok(!e.slice(6).includes("\n"), "one line per event");
    const data = e.slice(6);
    if (data === "[DONE]") continue;
    out.push(JSON.parse(data));
  }
  return out;
}

export async function run(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack || e}`);
    process.exitCode = 1;
  }
}
