// Conformance of the Korean front-end against $TROUPE_CONFORMANCE_DIR/gpt-sovits: the 732-symbol table
// and every entry/stage of korean/frontend.json (stages discovered from the file).
#define BOOST_TEST_MODULE sovits_text_conformance
#include "../common/conformance.hpp"

#include <boost/test/unit_test.hpp>

#include <text/frontend.hpp>
#include <text/korean_numbers.hpp>
#include <text/symbols.hpp>
#include <text/utf8.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace troupe::sovits::text;

namespace {

fs::path fixture_root() {
    return troupe::test::conformance_dir("gpt-sovits");
}

json load(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in, "cannot open fixture " << p.string());
    return json::parse(in);
}

struct Tally {
    std::map<std::string, std::pair<int, int>> stages;  // stage -> (passed, total)
    void add(const std::string& stage, bool ok) {
        auto& t = stages[stage];
        t.second++;
        if (ok) t.first++;
    }
    ~Tally() {
        for (const auto& [stage, t] : stages)
            std::cout << "[sovits_text] " << stage << ": " << t.first << "/" << t.second << " exact\n";
    }
};

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x + " ";
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(symbol_table_equals_fixture) {
    const json j = load(fixture_root() / "symbols_v2.json");
    const auto expected = j.at("symbols").get<std::vector<std::string>>();
    if (j.contains("count")) BOOST_TEST(expected.size() == j.at("count").get<size_t>());
    const auto& table = SymbolTable::v2();
    BOOST_TEST(table.size() == expected.size());
    BOOST_TEST(table.symbols() == expected, boost::test_tools::per_element());
    for (size_t i = 0; i < expected.size(); ++i) BOOST_TEST(table.find(expected[i]) == static_cast<int>(i));
    // The same table read from the fixture file.
    const auto loaded = SymbolTable::from_json_file((fixture_root() / "symbols_v2.json").string());
    BOOST_TEST(loaded.symbols() == table.symbols(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(frontend_entries_every_stage) {
    const json j = load(fixture_root() / "korean" / "frontend.json");
    const auto& table = SymbolTable::v2();
    KoreanFrontend frontend;
    Tally tally;
    // Inputs and metadata; every other key is a stage that must be checked.
    const std::set<std::string> inputs = {"text", "g2pk2_identity", "g2pk2_stand_in"};
    BOOST_REQUIRE(j.at("entries").is_array() && !j.at("entries").empty());
    int g2p_agree = 0, g2p_total = 0;
    for (size_t i = 0; i < j.at("entries").size(); ++i) {
        const json& e = j["entries"][i];
        BOOST_TEST_CONTEXT("entry " << i << ": " << e.at("text").get<std::string>()) {
            const std::string text = e.at("text").get<std::string>();
            const std::string stand_in = e.at("g2pk2_stand_in").get<std::string>();
            // The chain from the g2pk2 stand-in (the stages after g2pk2).
            const KoreanStages st = frontend.run_from_pronounced(stand_in);
            for (const auto& [key, value] : e.items()) {
                if (inputs.count(key)) continue;
                bool ok = false;
                if (key == "latin_to_hangul") {
                    ok = latin_to_hangul(text) == value.get<std::string>();
                } else if (key == "divide_hangul") {
                    ok = st.divide_hangul == value.get<std::string>();
                } else if (key == "fix_g2pk2_error") {
                    // from the fixture's previous stage and along the chain
                    ok = st.fix_g2pk2_error == value.get<std::string>() &&
                         fix_g2pk2_error(e.at("divide_hangul").get<std::string>()) == value.get<std::string>();
                } else if (key == "final_period") {
                    ok = st.final_period == value.get<std::string>() &&
                         final_period(e.at("fix_g2pk2_error").get<std::string>()) == value.get<std::string>();
                } else if (key == "phones") {
                    ok = st.phones == value.get<std::vector<std::string>>();
                    if (!ok) BOOST_TEST_MESSAGE("phones: got " << join(st.phones));
                } else if (key == "ids") {
                    const auto expected = value.get<std::vector<int>>();
                    ok = st.ids == expected && table.ids(e.at("phones").get<std::vector<std::string>>()) == expected;
                } else {
                    BOOST_ERROR("unknown stage '" << key << "' in the fixture");
                    continue;
                }
                BOOST_CHECK_MESSAGE(ok, "stage " << key << " differs");
                tally.add(key, ok);
            }
            if (e.at("g2pk2_identity").get<bool>()) {
                BOOST_TEST(stand_in == e.at("latin_to_hangul").get<std::string>());
            } else {
                // Not a golden stage (the fixture's forms are hand-written): report how often our
                // pronunciation rules produce the same form.
                const KoreanStages ours = frontend.run(text);
                ++g2p_total;
                if (ours.pronounced == stand_in) {
                    ++g2p_agree;
                } else {
                    std::cout << "[sovits_text] rules differ from stand-in: " << stand_in << " | ours: " << ours.pronounced
                              << "\n";
                }
            }
        }
    }
    std::cout << "[sovits_text] pronunciation rules agree with hand-written g2pk2 stand-ins: " << g2p_agree << "/"
              << g2p_total << "\n";
}

BOOST_AUTO_TEST_CASE(post_replace_ph_map) {
    const json j = load(fixture_root() / "korean" / "frontend.json");
    if (!j.contains("post_replace_ph")) return;
    Tally tally;
    for (const auto& [key, value] : j.at("post_replace_ph").items()) {
        const bool ok = post_replace_ph(std::string_view(key), SymbolTable::v2()) == value.get<std::string>();
        BOOST_CHECK_MESSAGE(ok, "post_replace_ph(" << key << ")");
        tally.add("post_replace_ph", ok);
    }
}

BOOST_AUTO_TEST_CASE(divide_hangul_every_syllable) {
    const json j = load(fixture_root() / "korean" / "frontend.json");
    if (!j.contains("syllables")) return;
    const json& s = j.at("syllables");
    const auto first = s.at("first_codepoint").get<uint32_t>();
    const auto last = s.at("last_codepoint").get<uint32_t>();
    const auto& expected = s.at("divide_hangul");
    BOOST_REQUIRE(expected.size() == last - first + 1);
    Tally tally;
    int failures = 0;
    for (uint32_t cp = first; cp <= last; ++cp) {
        const std::string got = divide_hangul(u32_to_utf8(static_cast<char32_t>(cp)));
        const bool ok = got == expected[cp - first].get<std::string>();
        tally.add("syllables.divide_hangul", ok);
        if (!ok && ++failures <= 10) BOOST_ERROR("divide_hangul(U+" << std::hex << cp << ") = " << got);
    }
    BOOST_TEST(failures == 0);
}
