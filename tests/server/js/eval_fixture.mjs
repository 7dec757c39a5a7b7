// Two small eval runs (results.json with report rows, report.html) for the studio's eval tab.
import { mkdirSync, writeFileSync } from "node:fs";
const root = process.argv[2];
for (const [name, value] of [["seed-run-a", 0.5], ["seed-run-b", 0.8]]) {
  const rows = [
    { scope: "부장", item: "말투", metric: "선언한 말투 일치율", value: String(value), value_num: value, verdict: value > 0.6 ? "통과" : "미달" },
    { scope: "신입", item: "길이", metric: "50–90자 비율", value: String(value / 2), value_num: value / 2, verdict: "미달" },
  ];
  mkdirSync(`${root}/${name}`, { recursive: true });
  writeFileSync(`${root}/${name}/results.json`, JSON.stringify({ suite: { name: "seed" }, generated: "2026-12-06T00:00:00Z",
    git_revision: "test", config_hash: "0123456789abcdef", report_rows: rows }));
  writeFileSync(`${root}/${name}/report.html`, `<!doctype html><meta charset="utf-8"><h1>평가 리포트 ${name}</h1>` +
    `<svg width="200" height="40"><rect width="${value * 200}" height="40" fill="#2f6fed"/></svg>`);
}
