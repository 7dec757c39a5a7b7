// troupe serve, every route on the embedded defaults: shapes of answers and of errors, streaming and
// not, the path restriction, scene jobs and eval reports. One server for the whole file.
#define BOOST_TEST_MODULE server_routes
#include "server_process.hpp"

#include <troupe/audio.hpp>

using troupe::test::body_json;
using troupe::test::check_openai_error;
using troupe::test::post_json;
using troupe::test::ServerProcess;
using troupe::test::sse_events;
using nlohmann::json;
namespace fs = boost::filesystem;

namespace {

const std::string kSituation = "월요일 아침 회의가 시작되었는데 분위기가 처져 있다";

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p.string(), std::ios::binary) << text;
}

/// Two eval runs (results.json with report rows, report.html) for the read-only eval routes.
void write_eval_runs(const fs::path& root) {
    for (auto [name, value] : {std::pair<const char*, double>{"run-a", 0.5}, {"run-b", 0.75}}) {
        json rows = json::array({{{"scope", "bujang"}, {"item", "말투"}, {"metric", "speech_level_match"},
                                  {"value", std::to_string(value)}, {"value_num", value},
                                  {"verdict", value > 0.6 ? "통과" : "미달"}}});
        json results = {{"suite", {{"name", "seed"}}}, {"generated", "2026-12-06T00:00:00Z"}, {"git_revision", "test"},
                        {"config_hash", "0123456789abcdef"}, {"report_rows", rows}};
        write(root / name / "results.json", results.dump());
        write(root / name / "report.html", "<html><body><h1>리포트 " + std::string(name) + "</h1></body></html>");
    }
}

struct Shared {
    fs::path dir = troupe::test::test_dir("server-routes");
    ServerProcess server{[this] {
                             write_eval_runs(dir / "eval");
                             troupe::Audio tone;
                             tone.sample_rate = 16000;
                             for (int i = 0; i < 16000; ++i) tone.samples.push_back(0.3f * std::sin(i * 0.05f));
                             fs::create_directories(dir / "voices");
                             troupe::write_wav((dir / "voices" / "ref.wav").string(), tone);
                             return std::vector<std::string>{"--data-dir", (dir / "data").string(), "--eval-dir",
                                                             (dir / "eval").string(), "--allow-dir",
                                                             (dir / "voices").string()};
                         }(),
                         dir};
};
Shared& shared() {
    static Shared s;
    return s;
}

json chat_body(const std::string& model, bool stream, int64_t seed) {
    return {{"model", model}, {"stream", stream}, {"max_tokens", 24},
            {"messages", {{{"role", "system"}, {"content", "무시됨"}}, {{"role", "user"}, {"content", kSituation}}}},
            {"troupe", {{"action", "커피를 들고 들어온다"}, {"seed", seed}}}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(health_and_models_list_the_cast_and_plugins) {
    auto c = shared().server.client();
    json health = body_json(c.Get("/health"));
    BOOST_TEST(health["status"] == "ok");
    BOOST_TEST(health["characters"] == 5);
    json models = body_json(c.Get("/v1/models"));
    BOOST_TEST(models["object"] == "list");
    std::set<std::string> ids, plugins;
    for (auto& m : models["data"]) {
        BOOST_TEST(m["object"] == "model");
        ids.insert(m["id"].get<std::string>());
    }
    for (auto& p : models["plugins"]) plugins.insert(p["name"].get<std::string>());
    BOOST_TEST((ids == std::set<std::string>{"bujang", "client", "daeri", "sinip", "timjang"}));
    BOOST_TEST(plugins.count("eeve-lora"));
    BOOST_TEST(plugins.count("espeak-ng"));
    BOOST_TEST(body_json(c.Get("/v1/models/bujang"))["name"] == "부장");
    check_openai_error(c.Get("/v1/models/nobody"), 404, "model");
}

BOOST_AUTO_TEST_CASE(chat_answers_in_character_and_streams_the_same_line) {
    auto c = shared().server.client();
    auto r = post_json(c, "/v1/chat/completions", chat_body("부장", false, 5));  // by display name
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == 200, r->body);
    json answer = body_json(r);
    BOOST_TEST(answer["object"] == "chat.completion");
    BOOST_TEST(answer["model"] == "bujang");
    const auto& choice = answer["choices"][0];
    const std::string text = choice["message"]["content"];
    BOOST_TEST(choice["message"]["role"] == "assistant");
    BOOST_TEST(text.size() > 3u, text);
    BOOST_TEST((choice["finish_reason"] == "stop" || choice["finish_reason"] == "length"));
    const auto& u = answer["usage"];
    BOOST_TEST(u["prompt_tokens"].get<int>() > 0);
    BOOST_TEST(u["completion_tokens"].get<int>() > 0);
    BOOST_TEST(u["total_tokens"].get<int>() == u["prompt_tokens"].get<int>() + u["completion_tokens"].get<int>());
    // The same seed gives the same line; streamed, it arrives in pieces that add up to it.
    BOOST_TEST(body_json(post_json(c, "/v1/chat/completions", chat_body("bujang", false, 5)))["choices"][0]["message"]["content"] == text);
    json stream_body = chat_body("bujang", true, 5);
    stream_body["stream_options"] = {{"include_usage", true}};
    auto s = post_json(c, "/v1/chat/completions", stream_body);
    BOOST_REQUIRE(s);
    BOOST_TEST(s->status == 200);
    BOOST_TEST(s->get_header_value("Content-Type").find("text/event-stream") == 0);
    auto events = sse_events(s->body);
    BOOST_REQUIRE(events.size() >= 4u);
    BOOST_TEST(events.back().second == "[DONE]");
    std::string streamed, finish;
    bool usage = false;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        json chunk = json::parse(events[i].second);
        BOOST_TEST(chunk["object"] == "chat.completion.chunk");
        BOOST_TEST(chunk["id"] == json::parse(events[0].second)["id"]);
        if (chunk.contains("usage")) usage = chunk["usage"]["completion_tokens"].get<int>() > 0;
        if (chunk["choices"].empty()) continue;
        if (i == 0) BOOST_TEST(chunk["choices"][0]["delta"]["role"] == "assistant");
        if (chunk["choices"][0]["delta"].contains("content")) streamed += chunk["choices"][0]["delta"]["content"].get<std::string>();
        if (!chunk["choices"][0]["finish_reason"].is_null()) finish = chunk["choices"][0]["finish_reason"];
    }
    BOOST_TEST(usage);
    BOOST_TEST((finish == "stop" || finish == "length"));
    BOOST_TEST(streamed.find(text) != std::string::npos, streamed << " vs " << text);
}

BOOST_AUTO_TEST_CASE(bad_chat_requests_name_the_field) {
    auto c = shared().server.client();
    check_openai_error(c.Post("/v1/chat/completions", "{not json", "application/json"), 400, "body");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "가"}}}}}), 400, "model");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"model", "nobody"}, {"messages", {{{"role", "user"}, {"content", "가"}}}}}), 404, "model");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"model", "bujang"}, {"messages", json::array()}}), 400, "messages");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"model", "bujang"}, {"messages", {{{"role", "assistant"}, {"content", "가"}}}}}), 400, "messages");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"model", "bujang"}, {"messages", {{{"role", "user"}, {"content", std::string(2001 * 3, 'a')}}}}}), 400, "messages");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"model", "bujang"}, {"messages", {{{"role", "user"}, {"content", "가"}}}}, {"temperature", 9}}), 400, "temperature");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"model", "bujang"}, {"messages", {{{"role", "user"}, {"content", "가"}}}}, {"troupe", {{"seed", "x"}}}}), 400, "seed");
    check_openai_error(post_json(c, "/v1/chat/completions", {{"model", "bujang"}, {"messages", {{{"role", "user"}, {"content", 5}}}}}), 400, "messages[0].content");
    check_openai_error(c.Post("/v1/chat/completions", std::string(2 << 20, 'x'), "application/json"), 413, "body");
    check_openai_error(c.Get("/v1/nothing-here"), 404, "");
}

BOOST_AUTO_TEST_CASE(speech_gives_wav_and_pcm_in_the_characters_voice) {
    auto c = shared().server.client();
    auto r = post_json(c, "/v1/audio/speech", {{"model", "tts-1"}, {"voice", "daeri"}, {"input", "안녕하세요. 회의 시작합니다."}, {"response_format", "wav"}});
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == 200);
    BOOST_TEST(r->get_header_value("Content-Type") == "audio/wav");
    const fs::path wav = shared().dir / "speech.wav";
    std::ofstream(wav.string(), std::ios::binary) << r->body;
    troupe::Audio audio = troupe::read_wav(wav.string());
    BOOST_TEST(audio.seconds() > 0.8);
    auto p = post_json(c, "/v1/audio/speech", {{"model", "daeri"}, {"voice", "alloy"}, {"input", "안녕하세요. 회의 시작합니다."}, {"response_format", "pcm"}});
    BOOST_REQUIRE(p);
    BOOST_TEST(p->status == 200);
    BOOST_TEST(p->body.size() % 2 == 0u);
    BOOST_TEST(std::abs(double(p->body.size()) / 2 / 24000 - audio.seconds()) < 0.05);  // 24 kHz s16le
    auto fast = post_json(c, "/v1/audio/speech", {{"model", "daeri"}, {"input", "안녕하세요. 회의 시작합니다."}, {"speed", 2.0}});
    BOOST_REQUIRE(fast);
    BOOST_TEST(fast->body.size() < r->body.size());
    check_openai_error(post_json(c, "/v1/audio/speech", {{"model", "tts-1"}, {"voice", "nobody"}, {"input", "가"}}), 404, "voice");
    check_openai_error(post_json(c, "/v1/audio/speech", {{"model", "bujang"}, {"input", ""}}), 400, "input");
    check_openai_error(post_json(c, "/v1/audio/speech", {{"model", "bujang"}, {"input", "가"}, {"response_format", "mp3"}}), 400, "response_format");
    check_openai_error(post_json(c, "/v1/audio/speech", {{"model", "bujang"}, {"input", "가"}, {"speed", 10}}), 400, "speed");
}

BOOST_AUTO_TEST_CASE(tts_speaks_api_v2_and_reads_only_allowed_paths) {
    auto c = shared().server.client();
    auto get = c.Get("/tts?text=%EC%95%88%EB%85%95%ED%95%98%EC%84%B8%EC%9A%94&text_lang=ko");
    BOOST_REQUIRE(get);
    BOOST_TEST(get->status == 200, get->body);
    BOOST_TEST(get->body.substr(0, 4) == "RIFF");
    auto post = post_json(c, "/tts", {{"text", "안녕하세요"}, {"text_lang", "ko"}, {"media_type", "raw"}, {"streaming_mode", true},
                                      {"top_k", 5}, {"speed_factor", 1.0}, {"text_split_method", "cut5"}});
    BOOST_REQUIRE(post);
    BOOST_TEST(post->status == 200);
    BOOST_TEST(post->get_header_value("Content-Type") == "audio/raw");
    BOOST_TEST(post->get_header_value("Transfer-Encoding") == "chunked");
    BOOST_TEST(post->body.size() > 10000u);
    auto message = [&](const httplib::Result& r, int status) {
        BOOST_REQUIRE(r);
        BOOST_TEST(r->status == status, r->body);
        return body_json(r)["message"].get<std::string>();
    };
    BOOST_TEST(message(post_json(c, "/tts", {{"text_lang", "ko"}}), 400) == "text is required");
    BOOST_TEST(message(post_json(c, "/tts", {{"text", "가"}}), 400) == "text_lang is required");
    BOOST_TEST(message(post_json(c, "/tts", {{"text", "가"}, {"text_lang", "ko"}, {"media_type", "ogg"}}), 400) == "media_type: ogg is not supported");
    BOOST_TEST(message(post_json(c, "/tts", {{"text", "가"}, {"text_lang", "ko"}, {"text_split_method", "cut9"}}), 400) == "text_split_method:cut9 is not supported");
    // Reference audio: only under the allowed directories.
    const std::string inside = (shared().dir / "voices" / "ref.wav").string();
    auto ok = post_json(c, "/tts", {{"text", "가나다"}, {"text_lang", "ko"}, {"ref_audio_path", inside}, {"prompt_lang", "ko"}, {"prompt_text", "음"}});
    BOOST_REQUIRE(ok);
    BOOST_TEST(ok->status == 200, ok->body);
    for (const std::string& outside : {std::string("/etc/passwd"), (shared().dir / "voices" / ".." / "port").string(),
                                       (shared().dir / "eval" / "run-a" / "results.json").string()})
        BOOST_TEST(message(post_json(c, "/tts", {{"text", "가"}, {"text_lang", "ko"}, {"ref_audio_path", outside}, {"prompt_lang", "ko"}}), 403).find("outside") != std::string::npos);
    BOOST_TEST(message(post_json(c, "/tts", {{"text", "가"}, {"text_lang", "ko"}, {"ref_audio_path", inside + ".missing"}, {"prompt_lang", "ko"}}), 400).find("not a file") != std::string::npos);
    BOOST_TEST(message(c.Get("/set_gpt_weights?weights_path=/etc/passwd"), 403).find("outside") != std::string::npos);
    BOOST_TEST(message(c.Get("/set_sovits_weights"), 400) == "sovits weight path is required");
}

BOOST_AUTO_TEST_CASE(scene_jobs_stream_progress_and_keep_their_files) {
    auto c = shared().server.client();
    const std::string script = "title = \"짧은 장면\"\ncast = [\"bujang\", \"sinip\"]\nseed = 3\n"
                               "[[beats]]\nspeaker = \"bujang\"\nline = \"자자, 회의 시작하자고.\"\n"
                               "[[beats]]\nspeaker = \"sinip\"\nsituation = \"부장님이 회의를 시작했다\"\n";
    auto r = c.Post("/v1/scenes", script, "application/toml");
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == 202, r->body);
    json job = body_json(r);
    auto events = c.Get(job["events"].get<std::string>().c_str());
    BOOST_REQUIRE(events);
    std::vector<std::string> names;
    for (auto& [name, data] : sse_events(events->body)) names.push_back(name);
    const std::vector<std::string> expected = {"started", "line_started", "text_ready", "audio_ready",
                                               "line_started", "text_ready", "audio_ready", "done"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
    json state = body_json(c.Get(job["url"].get<std::string>().c_str()));
    BOOST_TEST(state["status"] == "done");
    BOOST_REQUIRE(state["manifest"]["lines"].size() == 2u);
    BOOST_TEST(state["manifest"]["lines"][0]["text"] == "자자, 회의 시작하자고.");
    auto mix = c.Get((job["url"].get<std::string>() + "/files/mix.wav").c_str());
    BOOST_TEST(mix->status == 200);
    BOOST_TEST(mix->get_header_value("Content-Type") == "audio/wav");
    auto srt = c.Get((job["url"].get<std::string>() + "/files/subtitles.srt").c_str());
    BOOST_TEST(srt->body.find("2\n00:00:") != std::string::npos, srt->body);
    BOOST_TEST(c.Get((job["url"].get<std::string>() + "/files/..%2F..%2Fport").c_str())->status == 404);
    // Replaying the events of a finished job gives the same list (Last-Event-ID skips the seen ones).
    auto replay = c.Get(job["events"].get<std::string>().c_str(), {{"Last-Event-ID", "7"}});
    BOOST_TEST(sse_events(replay->body).size() == 1u);
    // A JSON script, and bad ones.
    json as_json = {{"title", "JSON 장면"}, {"cast", {"daeri"}}, {"beats", {{{"speaker", "daeri"}, {"line", "네, 알겠습니다."}}}}};
    BOOST_TEST(post_json(c, "/v1/scenes", as_json)->status == 202);
    json wrong = {{"title", "x"}, {"cast", {"bujang"}}, {"beats", {{{"speaker", "nobody"}}}}};
    check_openai_error(post_json(c, "/v1/scenes", wrong), 400, "script");
    BOOST_TEST(body_json(post_json(c, "/v1/scenes", wrong))["error"]["message"].get<std::string>().find("script:") == 0u);
    check_openai_error(c.Post("/v1/scenes", "title = ", "application/toml"), 400, "script");
    check_openai_error(c.Get("/v1/scenes/scene-000000000000"), 404, "id");
    BOOST_TEST(body_json(c.Get("/v1/scenes"))["data"].size() >= 2u);
}

BOOST_AUTO_TEST_CASE(eval_reports_are_listed_served_and_compared) {
    auto c = shared().server.client();
    json runs = body_json(c.Get("/v1/eval/reports"));
    BOOST_REQUIRE(runs["data"].size() == 2u);
    const std::string a = runs["data"][0]["id"], b = runs["data"][1]["id"];
    BOOST_TEST(runs["data"][0]["name"] == "run-a");
    BOOST_TEST(body_json(c.Get(("/v1/eval/reports/" + a).c_str()))["results"]["suite"]["name"] == "seed");
    auto html = c.Get(("/v1/eval/reports/" + a + "/files/report.html").c_str());
    BOOST_TEST(html->status == 200);
    BOOST_TEST(html->body.find("리포트 run-a") != std::string::npos);
    json cmp = body_json(c.Get(("/v1/eval/compare?a=" + a + "&b=" + b).c_str()));
    BOOST_REQUIRE(cmp["rows"].size() == 1u);
    BOOST_TEST(cmp["rows"][0]["delta"].get<double>() == 0.25, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(cmp["verdict_changes"].size() == 1u);
    check_openai_error(c.Get(("/v1/eval/compare?a=" + a).c_str()), 400, "b");
    check_openai_error(c.Get("/v1/eval/reports/9:nothing"), 404, "id");
    BOOST_TEST(c.Get(("/v1/eval/reports/" + a + "/files/../run-b/results.json").c_str())->status == 404);
    BOOST_TEST(c.Post(("/v1/eval/reports/" + a).c_str(), "{}", "application/json")->status == 404);  // read-only
}

BOOST_AUTO_TEST_CASE(studio_page_is_served) {
    auto c = shared().server.client();
    auto page = c.Get("/");
    BOOST_REQUIRE(page);
    BOOST_TEST(page->status == 200);
    BOOST_TEST(page->body.find("Troupe 스튜디오") != std::string::npos);
    BOOST_TEST(c.Get("/app.js")->status == 200);
    BOOST_TEST(body_json(c.Get("/v1/scene-samples"))["data"][0]["name"] == "monday-meeting");
}
