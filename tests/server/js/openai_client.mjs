// OpenAI's official Node client against troupe serve: models, chat (plain and streamed), speech, errors.
import OpenAI from "openai";
import assert from "node:assert/strict";

const client = new OpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: process.env.API_KEY, maxRetries: 0 });
const situation = "월요일 아침 회의가 시작되었는데 분위기가 처져 있다";

const models = await client.models.list();
const ids = models.data.map((m) => m.id).sort();
assert.deepEqual(ids, ["bujang", "client", "daeri", "sinip", "timjang"]);

const answer = await client.chat.completions.create({
  model: "bujang", messages: [{ role: "user", content: situation }], max_tokens: 32, seed: 3 });
assert.equal(answer.object, "chat.completion");
const text = answer.choices[0].message.content;
assert.ok(text.length > 2, "empty answer");
assert.ok(["stop", "length"].includes(answer.choices[0].finish_reason));
assert.equal(answer.usage.total_tokens, answer.usage.prompt_tokens + answer.usage.completion_tokens);
console.log("chat:", text);

const stream = await client.chat.completions.create({
  model: "sinip", messages: [{ role: "user", content: situation }], max_tokens: 32, stream: true,
  stream_options: { include_usage: true } });
let streamed = "", finish = null, usage = null;
for await (const chunk of stream) {
  assert.equal(chunk.object, "chat.completion.chunk");
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    streamed += choice.delta.content ?? "";
    if (choice.finish_reason) finish = choice.finish_reason;
  }
}
assert.ok(streamed.trim().length > 2, "empty stream");
assert.ok(["stop", "length"].includes(finish));
assert.ok(usage && usage.completion_tokens > 0);
console.log("stream:", streamed.trim());

const speech = await client.audio.speech.create({ model: "tts-1", voice: "daeri", input: "안녕하세요. 회의 시작합니다.", response_format: "wav" });
const wav = Buffer.from(await speech.arrayBuffer());
assert.equal(wav.subarray(0, 4).toString(), "RIFF");
assert.ok(wav.length > 20000);
console.log("speech:", wav.length, "bytes");

await assert.rejects(client.chat.completions.create({ model: "nobody", messages: [{ role: "user", content: "가" }] }),
  (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.param === "model" && e.code === "model_not_found");
await assert.rejects(client.chat.completions.create({ model: "bujang", messages: [{ role: "user", content: "가" }], temperature: 7 }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === "temperature");
await assert.rejects(client.audio.speech.create({ model: "bujang", voice: "alloy", input: "가", response_format: "mp3" }),
  (e) => e instanceof OpenAI.BadRequestError && e.param === "response_format");
const wrongKey = new OpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: "wrong", maxRetries: 0 });
await assert.rejects(wrongKey.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
console.log("openai client: all checks passed");
