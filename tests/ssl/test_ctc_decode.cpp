// Unit tests of greedy CTC decoding and the Wav2Vec2CTCTokenizer vocabulary reader.
#define BOOST_TEST_MODULE ctc_decode
#include <boost/test/unit_test.hpp>

#include "ctc_vocab.hpp"

#include <troupe/status.hpp>

#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <fstream>

using troupe::w2v::CtcVocab;

namespace {
CtcVocab small() { return CtcVocab::from_symbols({"<pad>", "<s>", "</s>", "<unk>", "|", "가", "나", "다"}); }
}  // namespace

BOOST_AUTO_TEST_CASE(collapse_then_drop_blank) {
    const CtcVocab v = small();
    // 가 가 _ 가 | | 나 _ _ 나 다  ->  가가 나나다 (blank separates repeats)
    const auto d = v.decode({5, 5, 0, 5, 4, 4, 6, 0, 0, 6, 7});
    BOOST_CHECK((d.collapsed == std::vector<int64_t>{5, 0, 5, 4, 6, 0, 6, 7}));
    BOOST_CHECK((d.without_blank == std::vector<int64_t>{5, 5, 4, 6, 6, 7}));
    BOOST_CHECK_EQUAL(d.text, "가가 나나다");
    BOOST_CHECK_EQUAL(d.text_stripped, "가가 나나다");
}

BOOST_AUTO_TEST_CASE(outer_spaces_stripped_inner_kept) {
    const CtcVocab v = small();
    const auto d = v.decode({4, 5, 4, 0, 4, 6, 4});
    BOOST_CHECK_EQUAL(d.text, " 가  나 ");
    BOOST_CHECK_EQUAL(d.text_stripped, "가  나");
    BOOST_CHECK_EQUAL(v.decode({}).text, "");
    BOOST_CHECK_EQUAL(v.decode({0, 0, 4, 4}).text_stripped, "");
    BOOST_CHECK_EQUAL(v.decode({1, 3}).text, "<s><unk>");  // specials are kept, as the HF decode does by default
}

BOOST_AUTO_TEST_CASE(out_of_range_ids_throw) {
    const CtcVocab v = small();
    BOOST_CHECK_THROW(v.decode({5, 8}), troupe::Error);
    BOOST_CHECK_THROW(v.decode({-1}), troupe::Error);
    BOOST_CHECK_THROW(CtcVocab::from_symbols({"a", "b"}), troupe::Error);  // no blank
}

BOOST_AUTO_TEST_CASE(reads_folder_with_custom_tokens) {
    const auto dir = std::filesystem::temp_directory_path() / ("troupe_ctc_vocab_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "vocab.json") << R"({"[PAD]": 2, "a": 0, "b": 1, "_": 3})";
    std::ofstream(dir / "tokenizer_config.json")
        << R"({"pad_token": {"content": "[PAD]"}, "word_delimiter_token": "_", "replace_word_delimiter_char": "-"})";
    const CtcVocab v = CtcVocab::load_dir(dir.string());
    BOOST_CHECK_EQUAL(v.blank_id(), 2);
    BOOST_CHECK_EQUAL(v.word_delimiter_id(), 3);
    BOOST_CHECK_EQUAL(v.decode({0, 2, 0, 3, 1}).text, "aa-b");

    std::ofstream(dir / "vocab.json") << R"({"a": 0, "b": 5})";
    BOOST_CHECK_THROW(CtcVocab::load_dir(dir.string()), troupe::Error);
    std::ofstream(dir / "vocab.json") << R"({"a": 0, )";
    BOOST_CHECK_THROW(CtcVocab::load_dir(dir.string()), troupe::Error);
    // (std::filesystem::remove_all crashes when linked against the pip wheel's libtorch.so, which exports a
    // broken copy of it; remove the two files and the folder one by one.)
    for (const char* f : {"vocab.json", "tokenizer_config.json"}) std::remove((dir / f).c_str());
    ::rmdir(dir.c_str());
}
