// `troupe tts prepare` on a generated AI Hub-style corpus (espeak-ng speech, JSON labels, a broken
// label, a label without transcript, an unreadable WAV, an audio file without label): the files it
// writes (list.txt, 2-name2text.txt, 5-wav32k) and its skip reports.
#define BOOST_TEST_MODULE sovits_prepare
#include <boost/test/unit_test.hpp>

#include "cli_capture.hpp"
#include "corpus.hpp"

#include <prepare/aihub.hpp>
#include <prepare/dataset_list.hpp>
#include <prepare/pipeline.hpp>
#include <text/frontend.hpp>

#include <troupe/audio.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;
namespace prep = troupe::sovits::prepare;
using namespace troupe::test;

namespace {

std::string temp_dir(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / ("troupe_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

// The skip reports of a run, keyed by file.
std::map<std::string, nlohmann::json> skips_by_file(const nlohmann::json& report) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& s : report.at("skipped")) out[s.at("file").get<std::string>()] = s;
    return out;
}

const nlohmann::json& stage(const nlohmann::json& report, const std::string& name) {
    for (const auto& s : report.at("stages"))
        if (s.at("stage") == name) return s;
    throw std::runtime_error("no stage " + name);
}

}  // namespace

BOOST_AUTO_TEST_CASE(transcript_cleaning) {
    using prep::DualTranscript;
    BOOST_TEST(prep::clean_transcript("  오늘은\n\t맑음  ") == "오늘은 맑음");
    BOOST_TEST(prep::clean_transcript("(3시)/(세 시)에 봐요") == "세 시에 봐요");
    BOOST_TEST(prep::clean_transcript("(십 분만)/(10분만) 투자") == "십 분만 투자");
    BOOST_TEST(prep::clean_transcript("(3시)/(세 시)", DualTranscript::first) == "3시");
    BOOST_TEST(prep::clean_transcript("(십 분만)/(10분만)", DualTranscript::second) == "10분만");
    BOOST_TEST(prep::clean_transcript("b/ 그래서 o/ 어 n/") == "그래서 어");
    BOOST_TEST(prep::clean_transcript("(괄호) 그대로") == "(괄호) 그대로");
}

BOOST_AUTO_TEST_CASE(label_fields) {
    using nlohmann::json;
    auto f = prep::read_label_fields(json::parse(R"({"화자정보": {"SpeakerName": "A"}, "전사정보": {"OrgLabelText": "원문",
        "TransLabelText": "전사"}, "파일정보": {"FileName": "x.wav"}})"), "a.json");
    BOOST_TEST(f.text == "전사");
    BOOST_TEST(f.speaker == "A");
    BOOST_TEST(f.audio == "x.wav");
    BOOST_TEST(f.emotion.empty());  // no emotion key
    f = prep::read_label_fields(json::parse(R"({"text": "말", "speaker_id": 12})"), "b.json");
    BOOST_TEST(f.speaker == "12");
    BOOST_TEST(f.audio.empty());
    // The emotion, where the label gives one (감성 및 발화 스타일: 화자정보.Emotion), one line, trimmed.
    f = prep::read_label_fields(json::parse(R"({"화자정보": {"Emotion": " 기쁨\n"}, "전사정보": {"TransLabelText": "전사"}})"), "i.json");
    BOOST_TEST(f.emotion == "기쁨");
    f = prep::read_label_fields(json::parse(R"({"text": "말", "감정": "분노", "emotion": {"code": 3}})"), "j.json");
    BOOST_TEST(f.emotion == "분노");  // a non-string "emotion" is passed over
    BOOST_CHECK_EXCEPTION(prep::read_label_fields(json::parse(R"({"파일정보": {}})"), "c.json"), troupe::Error,
                          [](const troupe::Error& e) { return std::string(e.what()).find("c.json: no transcript") != std::string::npos; });
    BOOST_CHECK_EXCEPTION(prep::read_label_fields(json::parse(R"({"dialogs": [{"text": "하나"}, {"text": "둘"}]})"), "d.json"),
                          troupe::Error,
                          [](const troupe::Error& e) { return std::string(e.what()).find("2 utterances") != std::string::npos; });
    BOOST_CHECK_THROW(prep::read_label_fields(json::parse("[1, 2]"), "e.json"), troupe::Error);
    // A transcript that is not a string, and one nested deeper than the search goes, are not found.
    BOOST_CHECK_THROW(prep::read_label_fields(json::parse(R"({"text": 5})"), "f.json"), troupe::Error);
    std::string deep = R"({"text": "x"})";
    for (int i = 0; i < 200; ++i) deep = "{\"a\": [" + deep + "]}";
    BOOST_CHECK_THROW(prep::read_label_fields(json::parse(deep), "g.json"), troupe::Error);
    // Keys match case-insensitively; a single-element utterance array is looked into.
    f = prep::read_label_fields(json::parse(R"({"UTTERANCES": [{"STT": "하나", "FILENM": "u.wav"}]})"), "h.json");
    BOOST_TEST(f.text == "하나");
    BOOST_TEST(f.audio == "u.wav");
}

BOOST_AUTO_TEST_CASE(list_file_round_trip_and_bad_lines) {
    const std::string dir = temp_dir("prepare_list");
    const std::string path = dir + "/in.list";
    {
        std::ofstream out(path);
        out << "a/x.wav|spk|KO|안녕\n\nno separators here\nb/y.wav|spk|ko|하나|둘\n";
    }
    std::vector<prep::Problem> problems;
    const auto entries = prep::read_list(path, problems);
    BOOST_REQUIRE_EQUAL(entries.size(), 1u);
    BOOST_TEST(entries[0].wav == "a/x.wav");
    BOOST_TEST(prep::normalize_language(entries[0].language) == "ko");
    BOOST_REQUIRE_EQUAL(problems.size(), 2u);
    BOOST_TEST(problems[0].file == path + ":3");
    BOOST_TEST(problems[1].file == path + ":4");
    BOOST_TEST(problems[1].reason.find("found 5") != std::string::npos);
    BOOST_TEST(prep::item_name("a/b/x.wav") == "x.wav");
    BOOST_CHECK_THROW(prep::format_list_line({"x.wav", "s", "ko", "a|b", ""}), troupe::Error);
    fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(prepare_aihub_corpus) {
    const std::string dir = temp_dir("prepare_aihub");
    const Corpus corpus = make_corpus(dir);
    const std::string out = dir + "/exp";

    // Without --keep-going the skipped files make the run fail (exit 1), after writing everything else.
    auto [rc, stdout_text] = run_prepare({"--aihub", corpus.root, "-o", out});
    BOOST_TEST(rc == 1);
    const nlohmann::json report = nlohmann::json::parse(stdout_text);
    BOOST_TEST(nlohmann::json::parse(read_file(out + "/prepare-report.json")).at("skipped") == report.at("skipped"));

    // Skip reports: by file, stage and reason.
    const auto skips = skips_by_file(report);
    BOOST_TEST(skips.size() == 4u);
    BOOST_REQUIRE(skips.count(corpus.broken_label));
    BOOST_TEST(skips.at(corpus.broken_label).at("stage") == "labels");
    BOOST_TEST(skips.at(corpus.broken_label).at("reason").get<std::string>().find("invalid JSON") != std::string::npos);
    BOOST_REQUIRE(skips.count(corpus.textless_label));
    BOOST_TEST(skips.at(corpus.textless_label).at("reason").get<std::string>().find("no transcript") != std::string::npos);
    BOOST_REQUIRE(skips.count(corpus.orphan_audio));
    BOOST_TEST(skips.at(corpus.orphan_audio).at("reason") == "audio file without a label");
    BOOST_REQUIRE(skips.count(corpus.unreadable_audio));
    BOOST_TEST(skips.at(corpus.unreadable_audio).at("stage") == "wav32k");
    BOOST_TEST(skips.at(corpus.unreadable_audio).at("reason").get<std::string>().find(corpus.unreadable_audio) != std::string::npos);
    // The two files whose labels were refused are labelled audio, not orphans: reported once each.

    // list.txt: the 3 good labels + the one whose audio turned out unreadable, label order.
    const auto list = lines_of(read_file(out + "/list.txt"));
    BOOST_REQUIRE_EQUAL(list.size(), corpus.good.size() + 1);
    std::map<std::string, std::vector<std::string>> by_name;
    for (const auto& line : list) {
        const auto f = split(line, '|');
        BOOST_REQUIRE_EQUAL(f.size(), 4u);
        BOOST_TEST(f[2] == "ko");
        by_name[prep::item_name(f[0])] = f;
    }
    const std::vector<std::string> speakers = {"F001", "7", "M002"};
    const troupe::sovits::text::KoreanFrontend frontend;
    std::map<std::string, std::vector<std::string>> name2text;
    for (const auto& line : lines_of(read_file(out + "/2-name2text.txt"))) {
        const auto f = split(line, '\t');
        BOOST_REQUIRE_EQUAL(f.size(), 4u);
        name2text[f[0]] = f;
    }
    BOOST_TEST(name2text.size() == list.size());
    for (size_t i = 0; i < corpus.good.size(); ++i) {
        const CorpusFile& g = corpus.good[i];
        const std::string name = fs::path(g.audio).filename().string();
        BOOST_REQUIRE(by_name.count(name));
        const auto& f = by_name[name];
        BOOST_TEST(f[0] == g.audio);
        BOOST_TEST(f[1] == speakers[i]);
        const std::string clean = prep::clean_transcript(g.text);
        BOOST_TEST(f[3] == clean);
        BOOST_TEST(clean.find('\n') == std::string::npos);
        // 2-name2text.txt: name, phones, word2ph (None for Korean), norm_text.
        BOOST_REQUIRE(name2text.count(name));
        const auto stages = frontend.run(clean);
        std::string phones;
        for (size_t k = 0; k < stages.phones.size(); ++k) phones += (k ? " " : "") + stages.phones[k];
        BOOST_TEST(name2text[name][1] == phones);
        BOOST_TEST(name2text[name][2] == "None");
        BOOST_TEST(name2text[name][3] == clean);

        // 5-wav32k: upstream's mix of the 32 kHz signal, int16 by truncation, sample for sample.
        const troupe::Audio src = troupe::read_wav(g.audio);
        const std::vector<float> x = troupe::ssl::resample(src.samples, src.sample_rate, 32000);
        float peak = 0;
        for (float v : x) peak = std::max(peak, std::abs(v));
        const std::vector<float> mixed = prep::loudness_mix(x, peak, 32768.f);
        const troupe::Audio got = troupe::read_wav(out + "/5-wav32k/" + name);
        BOOST_TEST(got.sample_rate == 32000);
        BOOST_REQUIRE_EQUAL(got.samples.size(), mixed.size());
        float max_diff = 0, got_peak = 0;
        for (size_t k = 0; k < mixed.size(); ++k) {
            max_diff = std::max(max_diff, std::abs(got.samples[k] * 32768.f - std::trunc(mixed[k])));
            got_peak = std::max(got_peak, std::abs(got.samples[k]));
        }
        BOOST_TEST(max_diff == 0.f);
        BOOST_TEST(got_peak == 0.475f + 0.5f * peak, boost::test_tools::tolerance(1e-3f));
    }
    BOOST_TEST(!fs::exists(out + "/5-wav32k/" + fs::path(corpus.unreadable_audio).filename().string()));
    BOOST_TEST(!fs::exists(out + "/6-name2semantic.tsv"));

    // Stage summaries: hubert and semantic say what they need.
    BOOST_TEST(stage(report, "text").at("written") == list.size());
    BOOST_TEST(stage(report, "wav32k").at("written") == corpus.good.size());
    BOOST_TEST(stage(report, "wav32k").at("skipped") == 1);
    BOOST_TEST(stage(report, "hubert").at("ran") == false);
    BOOST_TEST(stage(report, "hubert").at("not_run").get<std::string>().find("--hubert") != std::string::npos);
    BOOST_TEST(stage(report, "semantic").at("ran") == false);
    BOOST_TEST(stage(report, "semantic").at("not_run").get<std::string>().find("--s2") != std::string::npos);
    BOOST_TEST(report.at("audio_seconds").get<double>() > 1.0);

    // A second run reuses the 32 kHz files, reports the same skips, and --keep-going makes it exit 0.
    std::tie(rc, stdout_text) = run_prepare({"--aihub", corpus.root, "-o", out, "--keep-going"});
    BOOST_TEST(rc == 0);
    const nlohmann::json again = nlohmann::json::parse(stdout_text);
    BOOST_TEST(stage(again, "wav32k").at("reused") == corpus.good.size());
    BOOST_TEST(again.at("skipped") == report.at("skipped"));

    // The written list feeds a --list run: same name2text, nothing else skipped but the unreadable audio.
    std::tie(rc, stdout_text) = run_prepare({"--list", out + "/list.txt", "-o", dir + "/exp2"});
    BOOST_TEST(rc == 1);
    const auto from_list = skips_by_file(nlohmann::json::parse(stdout_text));
    BOOST_TEST(from_list.size() == 1u);
    BOOST_TEST(from_list.count(corpus.unreadable_audio) == 1u);
    BOOST_TEST(read_file(dir + "/exp2/2-name2text.txt") == read_file(out + "/2-name2text.txt"));

    // Usage errors.
    BOOST_TEST(run_prepare({"-o", out}).first == 2);
    BOOST_TEST(run_prepare({"--aihub", dir + "/missing", "-o", out}).first == 4);
    fs::remove_all(dir);
}
