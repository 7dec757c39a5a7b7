// `troupe tts g2p` served by the loaded gpt-sovits plugin (in-process through the host, stdout
// captured): JSON shape and values, usage errors.
#define BOOST_TEST_MODULE tts_g2p_cli
#include <boost/test/unit_test.hpp>

#include "../common/plugin_command.hpp"

#include <nlohmann/json.hpp>

namespace {

// Runs `troupe tts ARGS` and returns (exit code, stdout).
std::pair<int, std::string> run_tts(std::vector<std::string> args, bool json) {
    args.insert(args.begin(), "tts");
    return troupe::test::run_command(args, json);
}

}  // namespace

BOOST_AUTO_TEST_CASE(g2p_json) {
    const auto [rc, out] = run_tts({"g2p", "--text", "국물 3개"}, true);
    BOOST_TEST(rc == 0);
    const auto j = nlohmann::json::parse(out);
    BOOST_TEST(j.at("norm_text").get<std::string>() == "국물 세개");
    BOOST_TEST(j.at("pronounced").get<std::string>() == "궁물 세개");
    const std::vector<std::string> phones = {"ㄱ", "ㅜ", "ㅇ", "ㅁ", "ㅜ", "ㄹ", "空", "ㅅ", "ㅔ", "ㄱ", "ㅐ", "."};
    BOOST_TEST(j.at("phones").get<std::vector<std::string>>() == phones, boost::test_tools::per_element());
    const std::vector<int> ids = {324, 348, 335, 330, 348, 329, 352, 333, 346, 324, 344, 3};
    BOOST_TEST(j.at("ids").get<std::vector<int>>() == ids, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(g2p_split_segments) {
    const auto [rc, out] = run_tts({"g2p", "--text", "안녕하세요. 반갑습니다", "--split", "sentences"}, true);
    BOOST_TEST(rc == 0);
    const auto j = nlohmann::json::parse(out);
    BOOST_TEST(j.at("segments").size() == 2u);
    BOOST_TEST(j.at("phones").size() == j.at("ids").size());
}

BOOST_AUTO_TEST_CASE(usage_errors) {
    BOOST_TEST(run_tts({"g2p"}, true).first == 2);                                 // --text missing
    BOOST_TEST(run_tts({"g2p", "--text", "가", "--split", "cut9"}, true).first == 2);  // bad method
    BOOST_TEST(run_tts({"nope"}, false).first == 2);
    BOOST_TEST(run_tts({"g2p", "--text", "\xff"}, false).first != 0);
    BOOST_TEST(run_tts({"g2p", "--help"}, false).first == 0);
}
