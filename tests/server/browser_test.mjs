// The chat page in headless Chromium (playwright-core driving Debian's /usr/bin/chromium):
// streaming, the "Thinking…" block (open while streaming, collapsed after, with token count
// and time), multi-turn history, the stop button, tokens/s. Saves screenshots.
// usage: node browser_test.mjs SPUTNIK_BIN MODEL_DIR SCREENSHOT_DIR
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startServer, run, waitIdle } from "./lib.mjs";

const [bin, model, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const server = await startServer(bin, model, ["--parallel", "2", "--ctx", "2048"]);
const profile = mkdtempSync(path.join(tmpdir(), "sputnik-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1000, height: 700 },
});
// Only the local server may be reached.
await context.route((u) => !u.href.startsWith(server.url), (r) => r.abort());
const page = context.pages()[0] || (await context.newPage());
const requests = [];
page.on("request", (r) => { if (r.url().endsWith("/v1/chat/completions")) requests.push(JSON.parse(r.postData())); });
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));

async function setField(id, value) {
  await page.evaluate(([id, value]) => {
    const e = document.getElementById(id);
    e.value = value;
    e.dispatchEvent(new Event("change"));
  }, [id, value]);
}
async function sendMessage(text) {
  await page.fill("#input", text);
  await page.press("#input", "Enter");
}
const idle = () => page.waitForFunction(() => !document.getElementById("send").disabled &&
                                              document.getElementById("stop").disabled, null, { timeout: 60000 });

await run("page loads and names the model", async () => {
  await page.goto(server.url + "/");
  await page.waitForFunction(() => document.getElementById("model").textContent !== "…");
  assert.equal(await page.textContent("#model"), path.basename(model));
});

await run("streams a reply with a thinking block, collapsed after with count and time", async () => {
  await setField("budget", "60");
  await setField("max-tokens", "90");
  await setField("temperature", "0");
  // Record, inside the page, what the block looks like while reasoning streams into it (a
  // fast model can finish before a poll from here would see it).
  await page.evaluate(() => {
    // Pace the SSE stream one event per read, as a real network does: a fast local model can
    // otherwise deliver the whole answer in one read, processed in one task, and the observer
    // below would only ever see the final state.
    const realFetch = window.fetch;
    window.fetch = async (...args) => {
      const r = await realFetch(...args);
      if (!r.body) return r;
      const reader = r.body.getReader();
      const dec = new TextDecoder(), enc = new TextEncoder();
      let buf = "";
      const paced = new ReadableStream({
        async pull(ctrl) {
          for (;;) {
            const cut = buf.indexOf("\n\n");
            if (cut >= 0) {
              const event = buf.slice(0, cut + 2);
              buf = buf.slice(cut + 2);
              await new Promise((res) => setTimeout(res, 2));
              ctrl.enqueue(enc.encode(event));
              return;
            }
            const { value, done } = await reader.read();
            if (done) {
              if (buf) ctrl.enqueue(enc.encode(buf));
              buf = "";
              ctrl.close();
              return;
            }
            buf += dec.decode(value, { stream: true });
          }
        },
      });
      return new Response(paced, { status: r.status, statusText: r.statusText, headers: r.headers });
    };
    window.__seen = [];
    new MutationObserver(() => {
      const d = document.querySelector("details.thinking");
      if (d && d.querySelector(".reasoning").textContent)
        window.__seen.push({ open: d.open, streaming: d.classList.contains("streaming"),
                             summary: d.querySelector("summary").textContent });
    }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true });
  });
  await sendMessage("What is 2+2?");
  await page.waitForSelector("details.thinking", { timeout: 30000 });
  await page.screenshot({ path: path.join(shots, "chat-thinking-streaming.png") });
  await idle();
  const seen = await page.evaluate(() => window.__seen);
  const during = seen.filter((s) => s.streaming);
  assert.ok(during.length > 0, "reasoning streamed in");
  for (const s of during) {
    assert.equal(s.open, true, "open while streaming");
    assert.match(s.summary, /^Thinking… \(\d+ tokens?\)$/);
  }
  const state = await page.evaluate(() => {
    const d = document.querySelector(".msg.assistant details.thinking");
    return { open: d.open, summary: d.querySelector("summary").textContent,
             reasoning: d.querySelector(".reasoning").textContent,
             content: document.querySelector(".msg.assistant .content").textContent,
             stats: document.querySelector(".msg.assistant .stats").textContent,
             speed: document.getElementById("speed").textContent };
  });
  assert.equal(state.open, false, "collapsed once the answer started");
  assert.match(state.summary, /^Thought for \d+\.\d s \(61 tokens\)$/);  // 60 + the forced </think>
  assert.ok(state.reasoning.length > 0);
  assert.ok(state.content.length > 0, "answer shown");
  assert.match(state.stats, /^90 tokens · \d+\.\d tokens\/s · length$/);
  assert.match(state.speed, /tokens\/s/);
  await page.screenshot({ path: path.join(shots, "chat-thinking-collapsed.png") });
  await page.click("details.thinking summary");
  await page.screenshot({ path: path.join(shots, "chat-thinking-expanded.png") });
});

await run("multi-turn: history goes back without the thinking", async () => {
  await setField("max-tokens", "20");
  await setField("budget", "5");
  await sendMessage("And 3+3?");
  await idle();
  const last = requests.at(-1);
  assert.deepEqual(last.messages.map((m) => m.role), ["user", "assistant", "user"]);
  assert.ok(!("reasoning_content" in last.messages[1]));
  assert.equal(await page.locator(".msg.user").count(), 2);
  assert.equal(await page.locator(".msg.assistant").count(), 2);
});

await run("user text is shown as text, never as HTML", async () => {
  await setField("max-tokens", "2");
  await sendMessage("<img src=x onerror=window.pwned=1><b>bold</b>");
  await idle();
  assert.equal(await page.locator(".msg.user b").count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
});

await run("stop button cancels the stream and frees the server slot", async () => {
  await setField("max-tokens", "1500");
  await setField("budget", "");
  await sendMessage("Write a long story");
  await page.waitForSelector("details.thinking.streaming", { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector("details.thinking.streaming .reasoning")?.textContent.length > 0);
  await page.click("#stop");
  await idle();
  assert.match(await page.locator(".msg.assistant .stats").last().textContent(), /stopped/);
  await waitIdle(server.url);
});

await run("no page errors", async () => { assert.deepEqual(errors, []); });

await context.close();
rmSync(profile, { recursive: true, force: true });
await server.stop();
