// The server's request parsers (framework/server/requests.hpp) without a server: what each refuses
// with which status and field, and the regressions the request fuzz target guards.
#define BOOST_TEST_MODULE server_requests
#include <boost/test/unit_test.hpp>

#include "requests.hpp"

#include <troupe/scene.hpp>
#include <troupe/status.hpp>

#include <boost/filesystem.hpp>

#include <fstream>

using namespace troupe::server;
using nlohmann::json;

namespace {

/// The HttpError `f` throws: its status and param ("-" when it throws none).
template <class F>
std::pair<int, std::string> refusal(F f) {
    try {
        f();
    } catch (const HttpError& e) {
        return {e.status, e.param};
    }
    return {0, "-"};
}

json chat_body() {
    return {{"model", "minji"}, {"messages", {{{"role", "user"}, {"content", "회의가 길어진다"}}}}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(chat_fields) {
    const ChatParams c = parse_chat_request(chat_body(), 2000);
    BOOST_TEST(c.model == "minji");
    BOOST_TEST(c.situation == "회의가 길어진다");
    BOOST_TEST(c.seed == -1);
    json b = chat_body();
    b["troupe"] = {{"action", "웃으며"}, {"seed", 5}};
    b["stop"] = {"\n", "끝"};
    b["max_tokens"] = 64;
    const ChatParams d = parse_chat_request(b, 2000);
    BOOST_TEST(d.seed == 5);
    BOOST_TEST(d.action == "웃으며");
    BOOST_TEST(d.stop.size() == 2u);
    BOOST_TEST(d.max_tokens == 64);
    b["max_tokens"] = 5000;
    BOOST_TEST((refusal([&] { parse_chat_request(b, 2000); }) == std::pair<int, std::string>{400, "max_tokens"}));
}

// A content part whose "type" is not a string threw nlohmann's type_error out of the parser (a 500
// answer with the library's message); it is a 400 naming the field.
BOOST_AUTO_TEST_CASE(chat_part_type_not_a_string) {
    json b = chat_body();
    b["messages"][0]["content"] = json::array({{{"type", 1}, {"text", "x"}}});
    BOOST_TEST((refusal([&] { parse_chat_request(b, 2000); }) == std::pair<int, std::string>{400, "messages[0].content"}));
}

// An unsigned seed above INT64_MAX was read as a negative int64 (wrapped); it is out of range.
BOOST_AUTO_TEST_CASE(integer_above_int64_is_out_of_range) {
    json b = chat_body();
    b["seed"] = uint64_t(18446744073709551615ull);
    BOOST_TEST((refusal([&] { parse_chat_request(b, 2000); }) == std::pair<int, std::string>{400, "seed"}));
    json s = {{"model", "tts-1"}, {"input", "안녕"}, {"seed", uint64_t(9223372036854775808ull)}};
    BOOST_TEST((refusal([&] { parse_speech_request(s, 2000); }) == std::pair<int, std::string>{400, "seed"}));
}

BOOST_AUTO_TEST_CASE(body_must_be_a_json_object) {
    BOOST_TEST(refusal([] { parse_json_body("[1]"); }).second == "body");
    BOOST_TEST(refusal([] { parse_json_body("{"); }).second == "body");
    BOOST_TEST(parse_json_body("{\"a\": 1}")["a"] == 1);
}

BOOST_AUTO_TEST_CASE(tts_query_and_ranges) {
    const json q = tts_query_json({{"text", "안녕"}, {"text_lang", "ko"}, {"top_k", "5"}, {"streaming_mode", "true"}});
    const TtsParams t = parse_tts_request(q, 2000);
    BOOST_TEST(t.top_k == 5);
    BOOST_TEST(t.streaming);
    BOOST_TEST(refusal([] { tts_query_json({{"top_k", "five"}}); }).second == "top_k");
    json p = q;
    p["speed_factor"] = 9;
    BOOST_TEST(refusal([&] { parse_tts_request(p, 2000); }).second == "speed_factor");
    // streaming_mode as a huge number: on (no float-to-int conversion out of range)
    p = q;
    p["streaming_mode"] = 1e300;
    BOOST_TEST(parse_tts_request(p, 2000).streaming);
    p["text_lang"] = "en";
    BOOST_TEST(refusal([&] { parse_tts_request(p, 2000); }).second == "text_lang");
}

// A JSON scene nested a million levels deep overflowed the stack converting it to TOML; nesting
// deeper than any script is refused.
BOOST_AUTO_TEST_CASE(scene_json_nesting_is_bounded) {
    std::string deep = "{\"title\": ";
    for (int i = 0; i < 200000; ++i) deep += '[';
    for (int i = 0; i < 200000; ++i) deep += ']';
    deep += "}";
    BOOST_TEST((refusal([&] { scene_script_text("application/json", deep); }) == std::pair<int, std::string>{400, "body"}));
}

// The JSON form of a script reads as the TOML form does (through parse_scene, as the route does).
BOOST_AUTO_TEST_CASE(scene_json_reads_as_toml) {
    const json j = {{"title", "회식"}, {"cast", {"minji", "jiho"}}, {"seed", 3},
                    {"beats", {{{"speaker", "minji"}, {"situation", "건배"}}, {{"speaker", "jiho"}, {"line", "네!"}}}}};
    const troupe::SceneScript s = troupe::parse_scene(scene_script_text("", j.dump()), "script");
    BOOST_TEST(s.title == "회식");
    BOOST_TEST(s.beats.size() == 2u);
    BOOST_TEST(s.seed == 3u);
    BOOST_TEST(scene_script_text("text/plain", "title = 'x'") == "title = 'x'");
    const json wrapped = {{"script", "title = 'y'"}};
    BOOST_TEST(scene_script_text("application/json", wrapped.dump()) == "title = 'y'");
    // A seed above TOML's integers becomes a float, which the scene reader refuses with its error.
    json big = j;
    big["seed"] = uint64_t(18446744073709551615ull);
    BOOST_CHECK_THROW(troupe::parse_scene(scene_script_text("", big.dump()), "script"), troupe::Error);
}

// parse_scene on a file's text gives what load_scene gives for the file (the shipped scenes).
BOOST_AUTO_TEST_CASE(parse_scene_matches_load_scene) {
    namespace fs = boost::filesystem;
    int n = 0;
    for (const auto& e : fs::directory_iterator(fs::path(TROUPE_SOURCE_DIR) / "scenes")) {
        if (e.path().extension() != ".toml") continue;
        std::ifstream in(e.path().string(), std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const troupe::SceneScript a = troupe::load_scene(e.path().string());
        const troupe::SceneScript b = troupe::parse_scene(text, e.path().string());
        BOOST_TEST(a.title == b.title);
        BOOST_TEST(a.cast == b.cast);
        BOOST_TEST(a.beats.size() == b.beats.size());
        for (size_t i = 0; i < a.beats.size(); ++i) {
            BOOST_TEST(a.beats[i].line == b.beats[i].line);
            BOOST_TEST(a.beats[i].where == b.beats[i].where);
        }
        ++n;
    }
    BOOST_TEST(n > 0);
    BOOST_CHECK_THROW(troupe::parse_scene("title = ", "script"), troupe::Error);
}

BOOST_AUTO_TEST_CASE(last_event_id_header) {
    BOOST_TEST(last_event_id("") == 0);
    BOOST_TEST(last_event_id("42") == 42);
    BOOST_TEST(last_event_id("-1") == 0);
    BOOST_TEST(last_event_id("99999999999") == 0);
}
