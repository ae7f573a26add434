// sputnik chat page: streams /v1/chat/completions, shows the thinking (reasoning_content) in a
// collapsible block that is open while it streams and collapsed after, with its token count
// and time. Everything model-written goes in via textContent (never parsed as HTML).
"use strict";

const $ = (id) => document.getElementById(id);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const log = $("log");
const input = $("input");
const history = [];  // {role, content}; the thinking of earlier answers is not sent back
let controller = null;

const settingsKeys = ["system", "max-tokens", "budget", "temperature", "api-key"];
for (const k of settingsKeys) {
  const saved = localStorage.getItem("sputnik." + k);
  if (saved !== null) $(k).value = saved;
  $(k).addEventListener("change", () => localStorage.setItem("sputnik." + k, $(k).value));
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function loadModel() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const j = await r.json();
    $("model").textContent = j.data && j.data[0] ? j.data[0].id : "(no model)";
  } catch (e) {
    $("model").textContent = "(server unreachable)";
  }
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function addUser(text) {
  log.appendChild(el("div", "msg user", text));
  log.scrollTop = log.scrollHeight;
}

// The assistant bubble: thinking block (created on the first reasoning delta), answer, stats.
function addAssistant() {
  const box = el("div", "msg assistant");
  const view = { box, thinking: null, reasoning: null, summary: null, content: el("div", "content"),
                 stats: el("div", "stats") };
  box.append(view.content, view.stats);
  log.appendChild(box);
  return view;
}

function ensureThinking(view) {
  if (view.thinking) return;
  view.thinking = el("details", "thinking streaming");
  view.thinking.open = true;
  view.summary = el("summary", "", "Thinking…");
  view.reasoning = el("div", "reasoning");
  view.thinking.append(view.summary, view.reasoning);
  view.box.insertBefore(view.thinking, view.content);
}

function closeThinking(view, tokens, seconds) {
  if (!view.thinking || !view.thinking.classList.contains("streaming")) return;
  view.thinking.classList.remove("streaming");
  view.thinking.open = false;
  view.summary.textContent = `Thought for ${seconds.toFixed(1)} s (${plural(tokens, "token")})`;
  view.thinkTokens = tokens;
  view.thinkSeconds = seconds;
}

async function send(text) {
  history.push({ role: "user", content: text });
  addUser(text);
  const view = addAssistant();
  const messages = [];
  const system = $("system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...history);
  const body = {
    messages, stream: true, stream_options: { include_usage: true },
    max_tokens: Number($("max-tokens").value) || 512,
    temperature: Number($("temperature").value),
  };
  const budget = $("budget").value.trim();
  if (budget !== "") body.max_reasoning_tokens = Number(budget);

  controller = new AbortController();
  $("send").disabled = true;
  $("stop").disabled = false;
  const t0 = performance.now();
  let tFirst = null, tThinkEnd = null;
  let thinkDeltas = 0, deltas = 0, answer = "", finish = null, usage = null;
  const tick = () => {
    if (tFirst === null) tFirst = performance.now();
    deltas++;
    const secs = (performance.now() - tFirst) / 1000;
    if (secs > 0.2) view.stats.textContent = `${(deltas / secs).toFixed(1)} tokens/s`;
  };
  try {
    const r = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(body), signal: controller.signal });
    if (!r.ok) {
      const j = await r.json().catch(() => ({}));
      throw new Error((j.error && j.error.message) || `HTTP ${r.status}`);
    }
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const data = line.slice(6);
          if (data === "[DONE]") continue;
          const j = JSON.parse(data);
          if (j.error) throw new Error(j.error.message);
          if (j.usage) usage = j.usage;
          for (const c of j.choices || []) {
            const d = c.delta || {};
            if (d.reasoning_content) {
              ensureThinking(view);
              view.reasoning.textContent += d.reasoning_content;
              thinkDeltas++;
              view.summary.textContent = `Thinking… (${plural(thinkDeltas, "token")})`;
              tick();
            }
            if (d.content) {
              if (view.thinking && tThinkEnd === null) {
                tThinkEnd = performance.now();
                closeThinking(view, thinkDeltas, (tThinkEnd - t0) / 1000);
              }
              answer += d.content;
              view.content.textContent = answer;
              tick();
            }
            if (c.finish_reason) finish = c.finish_reason;
          }
          log.scrollTop = log.scrollHeight;
        }
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") view.box.appendChild(el("div", "error", "Error: " + e.message));
    else finish = "stopped";
  } finally {
    const end = performance.now();
    if (view.thinking) {
      const tokens = usage ? usage.completion_tokens_details.reasoning_tokens : thinkDeltas;
      if (view.thinking.classList.contains("streaming")) closeThinking(view, tokens, (end - t0) / 1000);
      else view.summary.textContent = `Thought for ${view.thinkSeconds.toFixed(1)} s (${plural(tokens, "token")})`;
    }
    const tokens = usage ? usage.completion_tokens : deltas;
    const secs = tFirst === null ? 0 : (end - tFirst) / 1000;
    const rate = secs > 0 ? tokens / secs : 0;
    view.stats.textContent = `${plural(tokens, "token")} · ${rate.toFixed(1)} tokens/s` + (finish ? ` · ${finish}` : "");
    $("speed").textContent = `${rate.toFixed(1)} tokens/s`;
    history.push({ role: "assistant", content: answer });
    controller = null;
    $("send").disabled = false;
    $("stop").disabled = true;
    input.focus();
  }
}

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = "";
  send(text);
});
input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("composer").requestSubmit();
  }
});
$("stop").addEventListener("click", () => controller && controller.abort());
$("clear").addEventListener("click", () => {
  history.length = 0;
  log.textContent = "";
});
loadModel();
