// BPE trainer: Llama layout, split digits, metaspace pieces, determinism, and a lossless round trip
// of held-out Korean text through Vocab (the tokenizer.json the trainer writes).
#define BOOST_TEST_MODULE vocab_trainer
#include <boost/test/unit_test.hpp>

#include "vocab.hpp"
#include "vocab_trainer.hpp"

#include <troupe/status.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <unistd.h>

namespace fs = std::filesystem;
using troupe::Errc;
using troupe::Error;
using troupe::llama::BpeTrainer;
using troupe::llama::BpeTrainerOptions;
using troupe::llama::Vocab;

namespace {

// Office dialogue from templates; `odd` picks the held-out half of the combinations.
std::vector<std::string> korean_lines(bool held_out) {
    const std::vector<std::string> who = {"부장님이", "신입사원이", "김 대리가", "팀장님께서", "고객이", "박 과장이"};
    const std::vector<std::string> when = {"오늘", "내일 오전", "다음 주 월요일까지", "3시에", "2024년 12월", "점심 전에"};
    const std::vector<std::string> what = {"보고서를", "회의 자료를", "견적서를", "일정표를", "메일을", "매출 12,345원을"};
    const std::vector<std::string> how = {"검토했습니다.", "제출했어요.", "보내 주세요.", "정리해 줘.", "확인하겠습니다!",
                                          "다시 봐 주시겠어요?"};
    std::vector<std::string> out;
    size_t n = 0;
    for (const auto& a : who)
        for (const auto& b : when)
            for (const auto& c : what)
                for (const auto& d : how)
                    if ((n++ % 7 == 3) == held_out) out.push_back(a + " " + b + " " + c + " " + d);
    return out;
}

std::string corpus() {
    std::string text;
    for (const auto& line : korean_lines(false)) text += line + "\n";
    return text;
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("troupe-vocab-trainer-" + std::to_string(::getpid()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

Errc error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return Errc::ok;
}

}  // namespace

BOOST_AUTO_TEST_CASE(trains_llama_layout_and_round_trips_held_out_korean) {
    BpeTrainerOptions opt;
    opt.vocab_size = 420;
    BpeTrainer trainer(opt);
    trainer.add_text(corpus());
    const std::string json_text = trainer.train();
    const auto& st = trainer.stats();
    BOOST_TEST_MESSAGE("trained: lines " << st.lines << ", unique words " << st.unique_words << ", alphabet "
                                         << st.alphabet << ", merges " << st.merges << ", vocab " << st.vocab_size
                                         << " in " << st.seconds << " s");
    const Vocab v = Vocab::from_json_text(json_text, "trained tokenizer.json");
    BOOST_TEST(v.size() == opt.vocab_size);
    BOOST_TEST(st.vocab_size == opt.vocab_size);
    BOOST_TEST(v.id_to_token(0) == "<unk>");
    BOOST_TEST(v.id_to_token(1) == "<s>");
    BOOST_TEST(v.id_to_token(2) == "</s>");
    BOOST_TEST(v.bos_id() == 1);
    BOOST_TEST(v.eos_id() == 2);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        BOOST_TEST(v.id_to_token(3 + b) == name);
    }
    const std::string meta = "\xE2\x96\x81";
    for (int64_t id = 259; id < v.size(); ++id) {
        const std::string& piece = v.id_to_token(id);
        BOOST_TEST_CONTEXT("piece " << piece) {
            BOOST_TEST(piece.find(meta, 1) == std::string::npos);  // "▁" only at the start
            const bool has_digit = piece.find_first_of("0123456789") != std::string::npos;
            if (has_digit) BOOST_TEST(piece.size() == 1u);  // split_digits: digits stay alone
        }
    }

    // held-out sentences plus text with characters the corpus never had (byte fallback)
    std::vector<std::string> held = korean_lines(true);
    held.push_back("뷁! 😀 漢字 테스트\t탭  두 칸");
    held.push_back("2025년 7월 31일 09:45");
    size_t tokens = 0, chars = 0;
    for (const auto& line : held) {
        const auto ids = v.encode(line, true);
        BOOST_TEST(ids.front() == 1);
        BOOST_TEST(v.decode(ids) == line);
        tokens += ids.size() - 1;
        for (unsigned char c : line) chars += (c & 0xC0) != 0x80;
    }
    BOOST_TEST_MESSAGE("held-out: " << held.size() << " lines, " << chars << " characters, " << tokens << " tokens");
    BOOST_TEST(tokens < chars);  // merges compress Korean below one token per character
    // digits are one token each
    BOOST_TEST(v.encode("2024", false).size() == 5u);  // "▁" + 4 digits
}

BOOST_AUTO_TEST_CASE(training_is_deterministic_and_writes_a_folder) {
    BpeTrainerOptions opt;
    opt.vocab_size = 400;
    BpeTrainer a(opt), b(opt);
    a.add_text(corpus());
    b.add_text(corpus());
    const std::string ja = a.train();
    BOOST_TEST(ja == b.train());
    TempDir dir;
    BpeTrainer::write_folder(ja, dir.path / "tok");
    const Vocab v = Vocab::load(dir.path / "tok");
    BOOST_TEST(v.size() == 400);
    BOOST_TEST(v.bos_id() == 1);
    BOOST_TEST(v.eos_id() == 2);
    BOOST_TEST(fs::exists(dir.path / "tok" / "tokenizer_config.json"));
    BOOST_TEST(fs::exists(dir.path / "tok" / "special_tokens_map.json"));
}

BOOST_AUTO_TEST_CASE(small_corpus_stops_early_and_coverage_limits_the_alphabet) {
    BpeTrainerOptions opt;
    opt.vocab_size = 5000;  // far more than the corpus supports
    BpeTrainer t(opt);
    t.add_text("가나다 가나다\n가나\n");
    const Vocab v = Vocab::from_json_text(t.train(), "small");
    BOOST_TEST(v.size() < 5000);
    BOOST_TEST(v.decode(v.encode("가나다라", true)) == "가나다라");

    BpeTrainerOptions tight;
    tight.vocab_size = 262;  // room for ▁ and two characters only
    BpeTrainer t2(tight);
    t2.add_text("가가가가 나나나 다다 라\n");
    const Vocab w = Vocab::from_json_text(t2.train(), "tight");
    BOOST_TEST(w.size() == 262);
    BOOST_TEST(w.decode(w.encode("라다나가", true)) == "라다나가");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_lines_are_skipped) {
    BpeTrainer t;
    t.add_text(std::string("좋은 아침\n\xFF\xFE bad\n안녕\n"));
    BOOST_TEST(t.stats().lines == 2);
    BOOST_TEST(t.stats().skipped_lines == 1);
}

BOOST_AUTO_TEST_CASE(bad_requests_are_errors) {
    BOOST_TEST(static_cast<int>(error_of([] { BpeTrainer().train(); })) == static_cast<int>(Errc::invalid_argument));
    BpeTrainerOptions opt;
    opt.vocab_size = 100;
    BOOST_TEST(static_cast<int>(error_of([&] {
                   BpeTrainer t(opt);
                   t.add_text("가나다");
                   t.train();
               })) == static_cast<int>(Errc::invalid_argument));
    BOOST_TEST(static_cast<int>(error_of([] { BpeTrainer().add_file("/nonexistent/corpus.txt"); })) ==
               static_cast<int>(Errc::not_found));
}
