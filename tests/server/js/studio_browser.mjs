// The studio page in headless Chromium (the system's, driven by puppeteer-core) at phone width: the
// cast, one character's line (streamed text, then its voice played), the sample scene rendered to
// its last line with the mix and SRT, and the eval tab's comparison. Screenshots go to $OUT.
import puppeteer from "puppeteer-core";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

const out = process.env.OUT;
mkdirSync(out, { recursive: true });
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"] });
const step = (name) => console.log(new Date().toISOString(), name);
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(120000);
  page.on("pageerror", (e) => console.log("page error:", e.message));
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true });

  step("cast");
  await page.goto(process.env.BASE_URL + "/", { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => document.querySelectorAll("#cast .card").length === 5);
  const names = await page.$$eval("#cast .card h3", (h) => h.map((e) => e.textContent));
  assert.ok(names.includes("부장") && names.includes("신입"), names.join(","));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is wider than the phone screen by ${overflow}px`);
  await page.screenshot({ path: `${out}/01-cast.png`, fullPage: true });

  step("one line");
  await page.click('nav button[data-tab="line"]');
  await page.select("#speaker", "bujang");
  await page.type("#situation", "월요일 아침 회의가 시작되었는데 분위기가 처져 있다");
  await page.type("#action", "커피를 들고 들어온다");
  await page.click("#ask");
  await page.waitForFunction(() => {
    const a = document.querySelector("#answers li audio");
    return a && a.src.startsWith("blob:");
  });
  const line = await page.$eval("#answers li .text", (e) => e.textContent);
  assert.ok(line.trim().length > 2, "no line");
  const played = await page.$eval("#answers li audio", async (a) => {
    await new Promise((resolve, reject) => {
      if (a.readyState >= 1) resolve();
      a.addEventListener("loadedmetadata", resolve, { once: true });
      a.addEventListener("error", () => reject(new Error("audio error")), { once: true });
    });
    await a.play();
    await new Promise((r) => setTimeout(r, 600));
    return { duration: a.duration, time: a.currentTime, paused: a.paused };
  });
  console.log("line:", line, "audio:", JSON.stringify(played));
  assert.ok(played.duration > 0.5, "the audio has no duration");
  assert.ok(played.time > 0, "the audio did not play");
  await page.screenshot({ path: `${out}/02-line.png`, fullPage: true });

  step("scene");
  await page.click('nav button[data-tab="scene"]');
  await page.click("#load-sample");
  await page.waitForFunction(() => document.querySelector("#script").value.includes("월요일"));
  const beats = await page.$eval("#script", (t) => t.value.split("[[beats]]").length - 1);
  await page.click("#render");
  await page.waitForFunction(() => document.querySelectorAll("#scene-lines li").length >= 1);
  await page.screenshot({ path: `${out}/03-scene-progress.png`, fullPage: true });
  await page.waitForFunction(() => !document.querySelector("#scene-result").hidden, { timeout: 400000 });
  const lines = await page.$$eval("#scene-lines li", (items) => items.map((li) => ({
    text: li.querySelector(".text").textContent, audio: !!li.querySelector("audio") })));
  assert.equal(lines.length, beats);
  assert.ok(lines.every((l) => l.audio && l.text.length > 0), JSON.stringify(lines));
  const links = await page.$eval("#srt-link", (a) => a.href);
  assert.ok(links.startsWith("blob:"));
  const srt = await page.evaluate(async () => (await fetch(document.querySelector("#srt-link").href)).text());
  assert.ok(srt.includes(`${beats}\n00:`), srt);
  await page.screenshot({ path: `${out}/04-scene-done.png`, fullPage: true });

  step("eval");
  await page.click('nav button[data-tab="eval"]');
  await page.waitForFunction(() => document.querySelectorAll("#runs li").length === 2);
  await page.click("#compare");
  await page.waitForFunction(() => document.querySelectorAll("#comparison tr").length === 3);
  await page.click("#runs li a");
  await page.waitForFunction(() => !document.querySelector("#report").hidden);
  await page.screenshot({ path: `${out}/05-eval.png`, fullPage: true });
  console.log("studio: all checks passed; screenshots in", out);
} finally {
  await browser.close();
}
