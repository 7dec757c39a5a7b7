// Load run against a running `troupe serve` (Node 20, no packages): CLIENTS concurrent clients send
// REQUESTS requests each of one kind, then requests/s and p50/p99 latency are printed as JSON.
//   node bench/server/load.mjs http://127.0.0.1:9880 chat|chat-stream|speech [CLIENTS=4] [REQUESTS=10]
// 503 answers (a full queue) are counted and retried after Retry-After; latency counts the answered try.
const [base, kind = "chat", clients = "4", requests = "10"] = process.argv.slice(2);
const cast = ["bujang", "sinip", "daeri", "timjang", "client"];
const situations = ["월요일 아침 회의가 시작되었다", "점심 메뉴를 정해야 한다", "고객이 로고 색을 바꿔 달라고 했다"];

function request(i) {
  const who = cast[i % cast.length], situation = situations[i % situations.length];
  if (kind === "speech")
    return ["/v1/audio/speech", { model: who, input: "네, 바로 확인해서 말씀드리겠습니다.", response_format: "wav" }];
  return ["/v1/chat/completions", { model: who, stream: kind === "chat-stream", messages: [{ role: "user", content: situation }] }];
}

const latencies = [];
let busy = 0, failed = 0;
async function client(c) {
  for (let k = 0; k < Number(requests); ++k) {
    const [path, body] = request(c * 31 + k);
    for (;;) {
      const t0 = performance.now();
      const res = await fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      await res.arrayBuffer();
      if (res.status === 503) { ++busy; await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get("retry-after") || 1))); continue; }
      if (res.status !== 200) ++failed;
      latencies.push(performance.now() - t0);
      break;
    }
  }
}

const start = performance.now();
await Promise.all(Array.from({ length: Number(clients) }, (_, c) => client(c)));
const seconds = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] / 1000;
console.log(JSON.stringify({ kind, clients: Number(clients), requests: latencies.length, failed, busy_503: busy,
  seconds: +seconds.toFixed(2), requests_per_second: +(latencies.length / seconds).toFixed(2),
  p50_seconds: +pct(0.5).toFixed(3), p99_seconds: +pct(0.99).toFixed(3) }));
