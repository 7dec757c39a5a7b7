// Troupe studio: the cast, one line per character (streamed text, then its voice), scene rendering
// with live progress, and eval reports. Plain browser JavaScript, no build step, no network besides
// this server. Every request carries the API key when one is set (stored in localStorage).
"use strict";

const $ = (sel) => document.querySelector(sel);
const LEVELS = { hasipsio: "하십시오체", haeyo: "해요체", banmal: "반말", mixed: "섞임" };
let cast = [];

function status(text, isError) {
  const el = $("#status");
  el.textContent = text || "";
  el.classList.toggle("error", !!isError);
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = localStorage.getItem("troupe-api-key");
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const res = await fetch(path, opts);
  if (!res.ok) {
    let message = res.status + " " + res.statusText;
    try {
      const body = await res.json();
      message = (body.error && body.error.message) || body.message || message;
    } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return res;
}

/// Reads server-sent events from a fetch response; calls onEvent(type, data) per event.
async function readSSE(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) type = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) onEvent(type, data === "[DONE]" ? "[DONE]" : JSON.parse(data));
    }
  }
}

/// An object URL for a server file (fetched with the API key, so it works behind --api-key).
async function blobUrl(path, options) {
  const res = await api(path, options);
  return URL.createObjectURL(await res.blob());
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- tabs --------------------------------------------------------------------------------------
function showTab(name) {
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((s) => s.classList.toggle("active", s.id === "tab-" + name));
  if (name === "eval") loadRuns();
}

// ---- cast --------------------------------------------------------------------------------------
async function loadCast() {
  try {
    const body = await (await api("/v1/models")).json();
    cast = body.data;
    const box = $("#cast");
    box.innerHTML = "";
    const select = $("#speaker");
    select.length = 1;
    for (const c of cast) {
      const card = el("article", { class: "card", "data-id": c.id });
      card.append(el("h3", {}, c.name), el("span", { class: "id" }, c.id), el("p", {}, c.description));
      const tags = el("p");
      tags.append(el("span", { class: "tag" }, LEVELS[c.speech_level] || c.speech_level),
                  el("span", { class: "tag" }, "목소리: " + c.speech_backend + (c.voice.variant ? " " + c.voice.variant : "")),
                  el("span", { class: "tag" }, c.adapter ? "LoRA 어댑터" : "기본 모델"));
      card.append(tags);
      box.append(card);
      select.append(el("option", { value: c.id }, c.name + " (" + c.id + ")"));
    }
    status("출연진 " + cast.length + "명을 불러왔습니다.");
  } catch (e) {
    status("출연진을 불러오지 못했습니다: " + e.message, true);
  }
}

// ---- one line per character ---------------------------------------------------------------------
async function askOne(c, situation, action, list) {
  const item = el("li", { class: "answer", "data-id": c.id });
  const text = el("span", { class: "text pending" });
  item.append(el("span", { class: "who" }, c.name), text);
  list.append(item);
  const body = { model: c.id, stream: true, messages: [{ role: "user", content: situation }] };
  if (action) body.troupe = { action };
  const res = await api("/v1/chat/completions", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let line = "";
  await readSSE(res, (type, data) => {
    if (data === "[DONE]") return;
    if (data.error) throw new Error(data.error.message);
    const delta = data.choices && data.choices[0] && data.choices[0].delta;
    if (delta && delta.content) { line += delta.content; text.textContent = line; }
  });
  line = line.trim();
  text.textContent = line;
  text.classList.remove("pending");
  if (!line) { item.append(el("p", { class: "error" }, "빈 대사가 나왔습니다.")); return; }
  const audio = el("audio", { controls: "", class: "voice" });
  audio.src = await blobUrl("/v1/audio/speech", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: c.id, voice: c.id, input: line, response_format: "wav" }) });
  item.append(audio);
}

async function ask() {
  const situation = $("#situation").value.trim();
  if (!situation) { status("상황을 입력해 주세요.", true); return; }
  const who = $("#speaker").value;
  const list = $("#answers");
  list.innerHTML = "";
  $("#ask").disabled = true;
  try {
    for (const c of cast.filter((c) => who === "*" || c.id === who)) {
      status(c.name + " 님이 말하는 중…");
      await askOne(c, situation, $("#action").value.trim(), list);
    }
    status("다 들었습니다.");
  } catch (e) {
    status("실패: " + e.message, true);
  } finally {
    $("#ask").disabled = false;
  }
}

// ---- scenes --------------------------------------------------------------------------------------
async function loadSample() {
  try {
    const body = await (await api("/v1/scene-samples")).json();
    if (!body.data.length) throw new Error("예시 장면이 없습니다");
    $("#script").value = body.data[0].script;
    status("예시 장면 '" + body.data[0].title + "'을 불러왔습니다.");
  } catch (e) {
    status("예시를 불러오지 못했습니다: " + e.message, true);
  }
}

function sceneLine(list, e) {
  let item = list.querySelector('li[data-index="' + e.index + '"]');
  if (!item) {
    item = el("li", { "data-index": e.index });
    item.append(el("span", { class: "who" }, e.name), el("span", { class: "text pending" }, "…"));
    list.append(item);
  }
  return item;
}

async function renderScene() {
  const script = $("#script").value.trim();
  if (!script) { status("대본을 입력하거나 예시를 불러오세요.", true); return; }
  const list = $("#scene-lines");
  list.innerHTML = "";
  $("#scene-result").hidden = true;
  $("#render").disabled = true;
  const progress = $("#scene-progress");
  try {
    const type = script.startsWith("{") ? "application/json" : "application/toml";
    const job = await (await api("/v1/scenes", { method: "POST", headers: { "Content-Type": type }, body: script })).json();
    status("장면 작업 " + job.id + " 시작");
    let total = 0, voiced = 0;
    const pending = [];
    const res = await api(job.events);
    await readSSE(res, (type, e) => {
      if (type === "started") { total = e.lines; progress.textContent = "0 / " + total + " 줄"; }
      if (type === "line_started") sceneLine(list, e);
      if (type === "text_ready") {
        const t = sceneLine(list, e).querySelector(".text");
        t.textContent = e.text;
      }
      if (type === "audio_ready") {
        const item = sceneLine(list, e);
        item.querySelector(".text").classList.remove("pending");
        const audio = el("audio", { controls: "", preload: "metadata" });
        item.append(audio);
        pending.push(blobUrl(e.url).then((u) => { audio.src = u; }));
        progress.textContent = ++voiced + " / " + total + " 줄";
      }
      if (type === "line_failed") {
        const item = sceneLine(list, e);
        item.querySelector(".text").classList.remove("pending");
        item.append(el("p", { class: "error" }, e.error));
      }
      if (type === "done") {
        pending.push(showSceneResult(job, e));
        progress.textContent = e.voiced + " / " + e.lines + " 줄 완성 · " + e.mix_seconds.toFixed(1) + "초";
      }
      if (type === "failed") throw new Error(e.error);
    });
    await Promise.all(pending);
    status("장면을 다 만들었습니다.");
  } catch (e) {
    status("장면 실패: " + e.message, true);
  } finally {
    $("#render").disabled = false;
  }
}

async function showSceneResult(job, e) {
  const mix = await blobUrl(e.mix);
  $("#mix").src = mix;
  $("#mix-link").href = mix;
  $("#srt-link").href = await blobUrl(e.subtitles);
  $("#manifest-link").href = await blobUrl(job.url + "/files/manifest.json");
  $("#scene-result").hidden = false;
}

function loadFile(ev) {
  const file = ev.target.files[0];
  if (!file) return;
  file.text().then((t) => { $("#script").value = t; status(file.name + " 을(를) 열었습니다."); });
}

// ---- eval reports ---------------------------------------------------------------------------------
async function loadRuns() {
  try {
    const body = await (await api("/v1/eval/reports")).json();
    const list = $("#runs");
    list.innerHTML = "";
    for (const s of ["#cmp-a", "#cmp-b"]) $(s).length = 0;
    if (!body.data.length) list.append(el("li", {}, "서버가 아는 평가 실행이 없습니다 (--eval-dir)."));
    for (const run of body.data) {
      const item = el("li");
      item.append(el("strong", {}, run.name + " "), el("span", { class: "id" }, (run.suite || "") + " · " + (run.generated || "") + " "));
      if (run.files.includes("report.html")) {
        const a = el("a", { href: "#" }, "리포트 보기");
        a.addEventListener("click", (ev) => { ev.preventDefault(); showReport(run); });
        item.append(a);
      }
      list.append(item);
      for (const s of ["#cmp-a", "#cmp-b"]) $(s).append(el("option", { value: run.id }, run.name + " (" + run.id + ")"));
    }
    if (body.data.length > 1) $("#cmp-b").selectedIndex = 1;
  } catch (e) {
    status("평가 목록을 불러오지 못했습니다: " + e.message, true);
  }
}

async function showReport(run) {
  const html = await (await api("/v1/eval/reports/" + encodeURIComponent(run.id) + "/files/report.html")).text();
  const frame = $("#report");
  frame.srcdoc = html;
  frame.hidden = false;
}

async function compare() {
  const a = $("#cmp-a").value, b = $("#cmp-b").value;
  const out = $("#comparison");
  if (!a || !b) { status("비교할 실행 두 개를 고르세요.", true); return; }
  try {
    const body = await (await api("/v1/eval/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b))).json();
    const table = el("table");
    const head = el("tr");
    for (const h of ["범위", "항목", "지표", "A", "B", "Δ (B−A)", "판정"]) head.append(el("th", {}, h));
    table.append(head);
    for (const r of body.rows) {
      const ref = Object.keys(r.a).length ? r.a : r.b;
      const tr = el("tr", r.verdict_changed ? { class: "changed" } : {});
      const delta = r.delta === null ? "—" : (r.delta > 0 ? "+" : "") + Number(r.delta.toPrecision(4));
      const cells = [ref.scope, ref.item, ref.metric, r.a.value || "(없음)", r.b.value || "(없음)", delta,
                     (r.a.verdict || "(없음)") + (r.verdict_changed ? " → " + (r.b.verdict || "(없음)") : "")];
      cells.forEach((c, i) => {
        const td = el("td", {}, c === undefined ? "" : String(c));
        if (i === 5 && r.delta) td.className = r.delta > 0 ? "up" : "down";
        tr.append(td);
      });
      table.append(tr);
    }
    out.innerHTML = "";
    out.append(el("p", {}, "판정이 바뀐 지표: " + (body.verdict_changes.length || "없음")));
    const wrap = el("div", { class: "table-wrap" });
    wrap.append(table);
    out.append(wrap);
  } catch (e) {
    status("비교 실패: " + e.message, true);
  }
}

// ---- start ----------------------------------------------------------------------------------------
document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
$("#api-key").value = localStorage.getItem("troupe-api-key") || "";
$("#api-key").addEventListener("change", (e) => {
  localStorage.setItem("troupe-api-key", e.target.value.trim());
  loadCast();
});
$("#ask").addEventListener("click", ask);
$("#load-sample").addEventListener("click", loadSample);
$("#scene-file").addEventListener("change", loadFile);
$("#render").addEventListener("click", renderScene);
$("#compare").addEventListener("click", compare);
loadCast();
