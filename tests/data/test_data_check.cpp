#define BOOST_TEST_MODULE data_check
#include <boost/test/unit_test.hpp>

#include <troupe/data/check.hpp>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace troupe::data;

namespace {

const std::string kPersona = "당신은 부장입니다. 능청스럽고 아재개그를 좋아합니다.";

std::string row(const std::string& situation, const std::string& output, const std::string& id,
                const std::string& direction = "모두 자리에 앉아 있다") {
    nlohmann::json j{{"instruction", kPersona},
                     {"input", "상황: " + situation + " [지문: " + direction + "]"},
                     {"output", output},
                     {"character", "bujang"},
                     {"situation_id", id}};
    return j.dump(-1, ' ', false);
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("troupe-data-check-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(counter()++));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::vector<std::string>& lines) const {
        const fs::path p = path / name;
        std::ofstream out(p, std::ios::binary);
        for (const auto& l : lines) out << l << "\n";
        return p.string();
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

// Problems of `kind` as "file:line" strings.
std::vector<std::string> found(const CheckReport& r, const std::string& kind) {
    std::vector<std::string> out;
    for (const auto& p : r.problems)
        if (p.kind == kind) out.push_back(p.where());
    return out;
}

std::string dump(const CheckReport& r) {
    std::string s;
    for (const auto& p : r.problems) s += p.where() + " " + p.kind + " " + p.message + "\n";
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(clean_file_passes) {
    TempDir dir;
    auto f = dir.write("ok.jsonl", {row("월요일 아침 회의", "자, 다들 주말 잘 보냈나? 나는 주말에 푹 쉬었더니 몸이 주말 같아.", "s1"),
                                    row("금요일 회식 자리", "오늘은 내가 쏜다! 물론 말로만 쏘는 거 아니고 지갑으로 쏘는 거야.", "s2")});
    const auto r = check_files({f});
    BOOST_TEST(r.ok(), dump(r));
    BOOST_REQUIRE_EQUAL(r.files.size(), 1u);
    BOOST_TEST(r.files[0].examples == 2u);
    BOOST_TEST(r.files[0].situations == 2u);
    BOOST_TEST(r.files[0].characters.at("bujang") == 2u);
}

BOOST_AUTO_TEST_CASE(planted_errors_are_caught_with_line_numbers) {
    TempDir dir;
    auto f = dir.write("bad.jsonl", {
        row("월요일 아침 회의", "첫 번째 대사입니다, 아주 평범한 문장이고 문제는 없습니다.", "s1"),            // 1 ok
        R"({"instruction": "x", "input": "상황: a [지문: b]", "output": )",                        // 2 broken JSON
        row("화요일 점심", "첫 번째 대사입니다, 아주 평범한 문장이고 문제는 없습니다.", "s2"),                // 3 duplicate output of 1
        row("월요일 아침 회의", "첫 번째 대사입니다, 아주 평범한 문장이고 문제는 없습니다.", "s1"),            // 4 exact duplicate of 1
        row("수요일 보고", "", "s3"),                                                                   // 5 empty output
        R"({"instruction": "x", "input": "그냥 상황", "output": "대사"})",                              // 6 bad input form
        R"({"instruction": "x", "input": "상황: a [지문: b]"})",                                        // 7 missing output
        "",                                                                                             // 8 blank line
        R"({"instruction": 3, "input": "상황: a [지문: b]", "output": "대사 둘"})",                     // 9 wrong type
        R"(["not", "an", "object"])",                                                                   // 10
    });
    const auto r = check_files({f});
    BOOST_TEST(!r.ok());
    const std::string at = f + ":";
    BOOST_TEST(found(r, kind::invalid_json) == std::vector<std::string>{at + "2"}, dump(r));
    BOOST_TEST(found(r, kind::duplicate_output) == std::vector<std::string>{at + "3"}, dump(r));
    BOOST_TEST(found(r, kind::duplicate_example) == std::vector<std::string>{at + "4"}, dump(r));
    BOOST_TEST(found(r, kind::empty_field) == std::vector<std::string>{at + "5"}, dump(r));
    BOOST_TEST(found(r, kind::bad_input) == std::vector<std::string>{at + "6"}, dump(r));
    BOOST_TEST(found(r, kind::schema) == (std::vector<std::string>{at + "7", at + "9", at + "10"}), dump(r));
    BOOST_TEST(found(r, kind::blank_line) == std::vector<std::string>{at + "8"}, dump(r));
    BOOST_TEST(found(r, kind::leak).empty());  // one file: no leak check
}

BOOST_AUTO_TEST_CASE(overlong_fields_use_the_configured_limit) {
    TempDir dir;
    const std::string output(20, 'a');
    auto f = dir.write("long.jsonl", {row("회의", "짧은 대사입니다.", "s1"), row("회의 둘", output, "s2")});
    CheckOptions options;
    options.max_output = 19;
    auto r = check_files({f}, options);
    BOOST_TEST(found(r, kind::overlong_field) == std::vector<std::string>{f + ":2"}, dump(r));
    options.max_output = 20;
    r = check_files({f}, options);
    BOOST_TEST(r.ok(), dump(r));
    // Limits count code points, not bytes: 9 Hangul syllables are 9 characters.
    BOOST_TEST(code_points("짧은 대사입니다.") == 9u);
}

BOOST_AUTO_TEST_CASE(leaks_across_splits_by_id_and_by_text) {
    TempDir dir;
    auto train = dir.write("train.jsonl", {row("월요일 아침 회의", "주말 잘 보냈나? 월요일은 원래 월래 힘든 거야.", "s1"),
                                           row("금요일 회식", "오늘은 내가 쏜다, 말로만 쏘는 거 아니다.", "s2")});
    auto valid = dir.write("valid.jsonl", {row("점심 메뉴 고르기", "오늘은 짜장면이 짱이지, 짜장 나게 맛있잖아.", "s3"),
                                           row("월요일 아침 회의", "회의 시작합시다. 오늘 안건은 세 개입니다.", "s9"),     // text leak
                                           row("전혀 다른 상황", "이건 아이디만 겹치는 대사입니다, 확인해 보세요.", "s2")});  // id leak
    const auto r = check_files({train, valid});
    const auto leaks = found(r, kind::leak);
    BOOST_TEST(leaks == (std::vector<std::string>{valid + ":2", valid + ":3"}), dump(r));
    CheckOptions options;
    options.check_leaks = false;
    BOOST_TEST(check_files({train, valid}, options).ok());
}

BOOST_AUTO_TEST_CASE(input_form) {
    std::string s, d;
    BOOST_TEST(split_input("상황: 금요일 회식 [지문: 건배를 든다]", s, d));
    BOOST_TEST(s == "금요일 회식");
    BOOST_TEST(d == "건배를 든다");
    BOOST_TEST(!split_input("상황: 금요일 회식", s, d));
    BOOST_TEST(!split_input("상황:  [지문: 건배를 든다]", s, d));
    BOOST_TEST(!split_input("상황: 회식 [지문: ]", s, d));
    BOOST_TEST(!split_input("상황: 회식 [지문: 건배] 뒤", s, d));
}

BOOST_AUTO_TEST_CASE(unreadable_file_is_reported) {
    const auto r = check_files({"/nonexistent/troupe/none.jsonl"});
    BOOST_TEST(found(r, kind::unreadable).size() == 1u);
}

BOOST_AUTO_TEST_CASE(json_summary) {
    TempDir dir;
    auto f = dir.write("j.jsonl", {row("회의", "대사 하나입니다.", "s1"), "{"});
    const auto j = nlohmann::json::parse(to_json(check_files({f})));
    BOOST_TEST(j["ok"].get<bool>() == false);
    BOOST_TEST(j["examples"].get<int>() == 1);
    BOOST_TEST(j["problem_counts"]["invalid_json"].get<int>() == 1);
    BOOST_TEST(j["problems"][0]["line"].get<int>() == 2);
}

// to_json writes the problems directly: the text must be what nlohmann's dump gives for the same
// value (compact and indented), invalid UTF-8 in a message replaced as dump's error handler does.
BOOST_AUTO_TEST_CASE(json_summary_layout_matches_dump) {
    const std::string text = row("회의", "대사 하나입니다.", "s1") + "\n\n{\"a\": \"\xff\"\n[1]\n" +
                             row("회의", "대사 하나입니다.", "s1") + "\n  \"tab\there\"\n";
    for (const CheckReport& r : {check_text("x/\"q\".jsonl", text), check_text("ok.jsonl", row("회의", "대사.", "s1"))})
        for (int indent : {-1, 0, 2, 4}) {
            const std::string out = to_json(r, indent);
            BOOST_TEST(nlohmann::json::parse(out).dump(indent) == out);
        }
    const CheckReport bad = check_text("m.jsonl", "{\"instruction\": \"\xc3\", \"input\": 1}\n\xff\n");
    BOOST_TEST(!bad.problems.empty());
    BOOST_TEST(nlohmann::json::parse(to_json(bad)).dump(2) == to_json(bad));
}

// check_text on a file's bytes reports what check_files reports for the file.
BOOST_AUTO_TEST_CASE(check_text_matches_check_files) {
    TempDir dir;
    const std::vector<std::string> lines = {row("회의", "대사 하나입니다.", "s1"), "", "{", "[2]\r", "x"};
    auto f = dir.write("t.jsonl", lines);
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST(to_json(check_text(f, bytes)) == to_json(check_files({f})));
}

BOOST_AUTO_TEST_CASE(shipped_persona_data_passes) {
    const fs::path dir = fs::path(TROUPE_SOURCE_DIR) / "datasets" / "persona";
    std::vector<std::string> files;
    for (const char* split : {"train.jsonl", "valid.jsonl", "test.jsonl"}) {
        BOOST_REQUIRE_MESSAGE(fs::exists(dir / split), (dir / split).string() + " is missing");
        files.push_back((dir / split).string());
    }
    const auto r = check_files(files);
    BOOST_TEST(r.ok(), dump(r));
    size_t total = 0;
    for (const auto& f : r.files) {
        BOOST_TEST(f.examples > 0u, f.file);
        total += f.examples;
    }
    BOOST_TEST(total >= 2000u);  // the issue's minimum
    // Every character appears in every split.
    for (const auto& f : r.files)
        BOOST_TEST(f.characters.size() == r.files[0].characters.size(), f.file);
}

// The instruction each example carries must be the prompt the character is given at inference
// (characters/<id>/character.toml, persona.definition), and every line must respect that
// character's length range and banned expressions.
BOOST_AUTO_TEST_CASE(shipped_persona_data_matches_characters) {
    const fs::path root(TROUPE_SOURCE_DIR);
    std::map<std::string, toml::table> characters;
    size_t checked = 0;
    for (const char* split : {"train.jsonl", "valid.jsonl", "test.jsonl"}) {
        std::ifstream in(root / "datasets" / "persona" / split);
        BOOST_REQUIRE(in);
        std::string line;
        size_t no = 0;
        while (std::getline(in, line)) {
            ++no;
            const auto j = nlohmann::json::parse(line);
            const std::string id = j.at("character").get<std::string>();
            auto it = characters.find(id);
            if (it == characters.end()) {
                const fs::path toml_path = root / "characters" / id / "character.toml";
                BOOST_REQUIRE_MESSAGE(fs::exists(toml_path), toml_path.string() + " is missing");
                it = characters.emplace(id, toml::parse_file(toml_path.string())).first;
            }
            const toml::table& c = it->second;
            const std::string where = std::string(split) + ":" + std::to_string(no);
            const auto definition = c["persona"]["definition"].value<std::string>();
            BOOST_REQUIRE_MESSAGE(definition, id + ": persona.definition missing");
            BOOST_TEST(j.at("instruction").get<std::string>() == *definition, where);
            const std::string output = j.at("output").get<std::string>();
            const size_t n = code_points(output);
            BOOST_TEST(n >= c["persona"]["min_line_chars"].value_or<int64_t>(0), where);
            BOOST_TEST(n <= c["persona"]["max_line_chars"].value_or<int64_t>(1000), where);
            if (const auto* banned = c["persona"]["banned_expressions"].as_array())
                for (const auto& b : *banned)
                    if (auto word = b.value<std::string>())
                        BOOST_TEST(output.find(*word) == std::string::npos, where + " uses banned \"" + *word + "\"");
            ++checked;
        }
    }
    BOOST_TEST(characters.size() == 5u);
    BOOST_TEST(checked >= 2000u);
}
