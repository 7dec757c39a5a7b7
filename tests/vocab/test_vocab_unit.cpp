// Tokenizer unit tests on small hand-made tokenizer.json files: BPE merge order, byte fallback,
// unk, added tokens, pre-tokenizer schemes, decoder chain, streaming, malformed files.
#define BOOST_TEST_MODULE vocab_unit
#include <boost/test/unit_test.hpp>

#include "vocab.hpp"

#include <troupe/status.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace fs = std::filesystem;
using json = nlohmann::json;
using troupe::Errc;
using troupe::Error;
using troupe::llama::IncrementalDecoder;
using troupe::llama::Vocab;

namespace {

const std::string kFFFD = "\xEF\xBF\xBD";

// Llama layout: <unk> <s> </s>, 256 byte tokens, then `pieces`.
json llama_tokenizer(const std::vector<std::string>& pieces, const std::vector<std::pair<std::string, std::string>>& merges,
                     const std::string& prepend_scheme = "first") {
    json vocab = json::object();
    vocab["<unk>"] = 0;
    vocab["<s>"] = 1;
    vocab["</s>"] = 2;
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        vocab[name] = 3 + b;
    }
    int id = 259;
    for (const auto& p : pieces) vocab[p] = id++;
    json m = json::array();
    for (const auto& [a, b] : merges) m.push_back(json::array({a, b}));
    json tok;
    tok["version"] = "1.0";
    tok["added_tokens"] = json::array();
    for (auto [content, tid] : {std::pair{"<unk>", 0}, std::pair{"<s>", 1}, std::pair{"</s>", 2}})
        tok["added_tokens"].push_back({{"id", tid}, {"content", content}, {"single_word", false}, {"lstrip", false},
                                       {"rstrip", false}, {"normalized", false}, {"special", true}});
    tok["normalizer"] = nullptr;
    tok["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", prepend_scheme}, {"split", false}};
    tok["post_processor"] = json::parse(R"({"type":"TemplateProcessing",
        "single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
        "pair":[], "special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}})");
    tok["decoder"] = json::parse(R"({"type":"Sequence","decoders":[
        {"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},
        {"type":"Strip","content":" ","start":1,"stop":0}]})");
    tok["model"] = {{"type", "BPE"},           {"dropout", nullptr},     {"unk_token", nullptr},
                    {"fuse_unk", true},        {"byte_fallback", true},  {"ignore_merges", false},
                    {"vocab", vocab},          {"merges", m}};
    return tok;
}

Vocab make(const json& tok) { return Vocab::from_json_text(tok.dump(), "test tokenizer.json"); }

std::vector<std::string> pieces(const Vocab& v, const std::string& text) { return v.tokenize(text, false); }

int64_t id(const Vocab& v, const std::string& token) {
    auto i = v.token_to_id(token);
    BOOST_REQUIRE_MESSAGE(i.has_value(), "no token " << token);
    return *i;
}

struct TempFile {
    fs::path path;
    explicit TempFile(const std::string& content) {
        static int n = 0;
        path = fs::temp_directory_path() / ("troupe-vocab-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".json");
        std::ofstream(path, std::ios::binary) << content;
    }
    ~TempFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

// Loading `content` from a file fails with `code`, naming the file and containing `needle`.
void expect_load_error(const std::string& content, Errc code, const std::string& needle) {
    TempFile f(content);
    try {
        Vocab::load(f.path);
        BOOST_ERROR("loaded a bad tokenizer.json; expected: " << needle);
    } catch (const Error& e) {
        const std::string msg = e.what();
        BOOST_TEST_CONTEXT(msg) {
            BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(code));
            BOOST_TEST(msg.rfind(f.path.string() + ": ", 0) == 0);
            BOOST_TEST(msg.find(needle) != std::string::npos);
        }
    }
}

const std::vector<std::string> kPieces = {"▁", "a", "b", "c", "bc", "ab", "abc", "▁a", "aa", "가", "▁가"};
const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"b", "c"}, {"a", "b"}, {"a", "bc"}, {"▁", "a"}, {"a", "a"}, {"▁", "가"}};

}  // namespace

BOOST_AUTO_TEST_CASE(merges_apply_by_rank_then_leftmost) {
    Vocab v = make(llama_tokenizer(kPieces, kMerges));
    BOOST_TEST(v.size() == 259 + static_cast<int64_t>(kPieces.size()));
    BOOST_TEST(v.merge_count() == kMerges.size());
    // b+c (rank 0) before a+b (rank 1), then a+bc
    BOOST_TEST(pieces(v, "abc") == (std::vector<std::string>{"▁", "abc"}), boost::test_tools::per_element());
    // with "ab" ranked first the result changes
    auto swapped = kMerges;
    std::swap(swapped[0], swapped[1]);
    Vocab w = make(llama_tokenizer(kPieces, swapped));
    BOOST_TEST(pieces(w, "cabc") == (std::vector<std::string>{"▁", "c", "ab", "c"}), boost::test_tools::per_element());
    // equal rank: leftmost pair first ("aaa" → "aa" "a", not "a" "aa")
    BOOST_TEST(pieces(v, "caaa") == (std::vector<std::string>{"▁", "c", "aa", "a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(byte_fallback_and_metaspace) {
    Vocab v = make(llama_tokenizer(kPieces, kMerges));
    // 녕 (EB 85 95) is not in the vocabulary: three byte tokens
    BOOST_TEST(pieces(v, "가녕") == (std::vector<std::string>{"▁가", "<0xEB>", "<0x85>", "<0x95>"}),
               boost::test_tools::per_element());
    // spaces become ▁; no dummy prefix when the text already starts with a space (scheme "first")
    BOOST_TEST(pieces(v, " a") == (std::vector<std::string>{"▁a"}), boost::test_tools::per_element());
    BOOST_TEST(pieces(v, "a a") == (std::vector<std::string>{"▁a", "▁a"}), boost::test_tools::per_element());
    BOOST_TEST(v.encode("a", true) == (std::vector<int64_t>{1, id(v, "▁a")}), boost::test_tools::per_element());
    BOOST_TEST(v.encode("", true) == (std::vector<int64_t>{1}), boost::test_tools::per_element());
    // "first": no prefix after a special token; "always": prefix there too; "never": none at all
    BOOST_TEST(pieces(v, "</s>a") == (std::vector<std::string>{"</s>", "a"}), boost::test_tools::per_element());
    Vocab always = make(llama_tokenizer(kPieces, kMerges, "always"));
    BOOST_TEST(pieces(always, "</s>a") == (std::vector<std::string>{"</s>", "▁a"}), boost::test_tools::per_element());
    Vocab never = make(llama_tokenizer(kPieces, kMerges, "never"));
    BOOST_TEST(pieces(never, "a") == (std::vector<std::string>{"a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(unk_without_byte_fallback_is_fused) {
    json tok = llama_tokenizer(kPieces, kMerges);
    tok["model"]["byte_fallback"] = false;
    tok["model"]["unk_token"] = "<unk>";
    Vocab v = make(tok);
    BOOST_TEST(pieces(v, "a녕녕a") == (std::vector<std::string>{"▁a", "<unk>", "a"}), boost::test_tools::per_element());
    tok["model"]["fuse_unk"] = false;
    Vocab nf = make(tok);
    BOOST_TEST(pieces(nf, "a녕녕") == (std::vector<std::string>{"▁a", "<unk>", "<unk>"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(added_tokens_split_the_text) {
    json tok = llama_tokenizer(kPieces, kMerges);
    tok["added_tokens"].push_back({{"id", 300}, {"content", "<|im_end|>"}, {"single_word", false}, {"lstrip", true},
                                   {"rstrip", false}, {"normalized", false}, {"special", true}});
    tok["added_tokens"].push_back({{"id", 301}, {"content", "<|im_end|>x"}, {"single_word", false}, {"lstrip", false},
                                   {"rstrip", false}, {"normalized", false}, {"special", false}});
    Vocab v = make(tok);
    BOOST_TEST(v.size() == 302);
    // lstrip swallows the spaces before it; longest match wins
    BOOST_TEST(v.encode("a  <|im_end|>a<|im_end|>x", false) ==
                   (std::vector<int64_t>{id(v, "▁a"), 300, id(v, "a"), 301}),
               boost::test_tools::per_element());
    BOOST_TEST(v.is_special(300));
    BOOST_TEST(!v.is_special(301));
    BOOST_TEST(v.decode({1, id(v, "▁a"), 300, 301}, true) == "a<|im_end|>x");
    BOOST_TEST(v.decode({1, id(v, "▁a"), 300}, false) == "<s> a<|im_end|>");
}

BOOST_AUTO_TEST_CASE(decode_replaces_invalid_byte_runs) {
    Vocab v = make(llama_tokenizer(kPieces, kMerges));
    const int64_t eb = 3 + 0xEB, x85 = 3 + 0x85, x95 = 3 + 0x95, x41 = 3 + 0x41;
    BOOST_TEST(v.decode({eb, x85, x95}) == "녕");
    // one bad byte makes the whole run U+FFFD, one per byte
    BOOST_TEST(v.decode({eb, x85, x41}) == kFFFD + kFFFD + kFFFD);
    BOOST_TEST(v.decode({eb, x85, id(v, "a"), x41}) == kFFFD + kFFFD + "aA");
    // leading space stripped once; unknown ids ignored
    BOOST_TEST(v.decode({id(v, "▁"), id(v, "▁a"), 99999, -1}) == " a");
}

BOOST_AUTO_TEST_CASE(incremental_decoder_holds_split_hangul) {
    Vocab v = make(llama_tokenizer(kPieces, kMerges));
    const int64_t eb = 3 + 0xEB, x85 = 3 + 0x85, x95 = 3 + 0x95;
    IncrementalDecoder dec(v);
    BOOST_TEST(dec.push(1) == "");
    BOOST_TEST(dec.push(id(v, "▁가")) == "가");
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(x85) == "");
    BOOST_TEST(dec.push(2) == "");  // a skipped special token does not end the run
    BOOST_TEST(dec.push(x95) == "");
    BOOST_TEST(dec.push(id(v, "▁a")) == "녕 a");
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(x85) == "");
    BOOST_TEST(dec.push(x95) == "");
    BOOST_TEST(dec.flush() == "녕");
    BOOST_TEST(dec.flush() == "");
    // an unfinished syllable at the end becomes U+FFFD per byte, as decode() does
    dec.reset();
    BOOST_TEST(dec.push(id(v, "a")) == "a");
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(x85) == "");
    BOOST_TEST(dec.flush() == kFFFD + kFFFD);
    // the leading-space strip applies to the stream as a whole
    dec.reset();
    BOOST_TEST(dec.push(id(v, "▁")) == "");
    BOOST_TEST(dec.push(id(v, "▁a")) == " a");
}

BOOST_AUTO_TEST_CASE(text_must_be_utf8) {
    Vocab v = make(llama_tokenizer(kPieces, kMerges));
    try {
        v.encode(std::string("a\xEB\x85"), true);
        BOOST_ERROR("accepted invalid UTF-8");
    } catch (const Error& e) {
        BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(Errc::invalid_argument));
    }
}

BOOST_AUTO_TEST_CASE(legacy_merges_and_normalizer) {
    json tok = llama_tokenizer(kPieces, kMerges);
    json merges = json::array();
    for (const auto& [a, b] : kMerges) merges.push_back(a + " " + b);
    tok["model"]["merges"] = merges;
    tok["pre_tokenizer"] = nullptr;
    tok["normalizer"] = json::parse(R"({"type":"Sequence","normalizers":[
        {"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]})");
    Vocab v = make(tok);
    BOOST_TEST(pieces(v, "abc a") == (std::vector<std::string>{"▁", "abc", "▁a"}), boost::test_tools::per_element());
    // the normalizer runs on each piece between special tokens
    BOOST_TEST(pieces(v, " a</s>a") == (std::vector<std::string>{"▁", "▁a", "</s>", "▁a"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(metaspace_decoder) {
    json tok = llama_tokenizer(kPieces, kMerges);
    tok["decoder"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
    Vocab v = make(tok);
    BOOST_TEST(v.decode({id(v, "▁a"), id(v, "▁a")}) == "a a");
}

BOOST_AUTO_TEST_CASE(malformed_files_are_named_errors) {
    const json good = llama_tokenizer(kPieces, kMerges);
    const std::string text = good.dump();
    expect_load_error(text.substr(0, text.size() / 2), Errc::invalid_file, "not valid JSON");
    expect_load_error("[1,2]", Errc::invalid_file, "top level");
    {
        json t = good;
        t.erase("model");
        expect_load_error(t.dump(), Errc::invalid_file, "\"model\"");
    }
    {
        json t = good;
        t["model"]["vocab"] = json::array();
        expect_load_error(t.dump(), Errc::invalid_file, "model.vocab is not an object");
    }
    {
        json t = good;
        t["model"]["vocab"]["zz"] = "seven";
        expect_load_error(t.dump(), Errc::invalid_file, "model.vocab[\"zz\"]");
    }
    {
        json t = good;
        t["model"]["vocab"]["zz"] = -4;
        expect_load_error(t.dump(), Errc::invalid_file, "out of range");
    }
    {
        json t = good;
        t["model"]["vocab"]["zz"] = 5;
        expect_load_error(t.dump(), Errc::invalid_file, "id 5 is used by both");
    }
    {
        json t = good;
        t["model"]["merges"].push_back(json::array({"a", "q"}));
        expect_load_error(t.dump(), Errc::invalid_file, "\"q\" is not in model.vocab");
    }
    {
        json t = good;
        t["model"]["merges"].push_back(json::array({"c", "c"}));
        expect_load_error(t.dump(), Errc::invalid_file, "\"cc\" is not in model.vocab");
    }
    {
        json t = good;
        t["model"]["merges"].push_back("abc");
        expect_load_error(t.dump(), Errc::invalid_file, "model.merges[6]");
    }
    {
        json t = good;
        t["model"]["merges"] = "a b";
        expect_load_error(t.dump(), Errc::invalid_file, "model.merges is not an array");
    }
    {
        json t = good;
        t["added_tokens"][0]["content"] = "";
        expect_load_error(t.dump(), Errc::invalid_file, "added_tokens[0].content is empty");
    }
    {
        json t = good;
        t["added_tokens"][1]["content"] = "<bos>";
        expect_load_error(t.dump(), Errc::invalid_file, "added_tokens[1]");
    }
    {
        json t = good;
        t["pre_tokenizer"]["prepend_scheme"] = "sometimes";
        expect_load_error(t.dump(), Errc::invalid_file, "prepend_scheme");
    }
    {
        json t = good;
        t["post_processor"]["single"][0]["SpecialToken"]["id"] = "<bos>";
        expect_load_error(t.dump(), Errc::invalid_file, "\"<bos>\" is not in special_tokens");
    }
    {
        json t = good;
        t["decoder"]["decoders"][3].erase("start");
        expect_load_error(t.dump(), Errc::invalid_file, "decoder.decoders[3] has no \"start\"");
    }
    {
        json t = good;
        t["model"]["type"] = "Unigram";
        expect_load_error(t.dump(), Errc::unsupported, "only BPE");
    }
    {
        json t = good;
        t["normalizer"] = {{"type", "NFKC"}};
        expect_load_error(t.dump(), Errc::unsupported, "NFKC");
    }
    try {
        Vocab::load("/nonexistent/troupe/tokenizer.json");
        BOOST_ERROR("loaded a missing file");
    } catch (const Error& e) {
        BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(Errc::not_found));
    }
}

// Streaming output equals decode() for every decoder layout, on random id sequences.
BOOST_AUTO_TEST_CASE(incremental_decoder_equals_decode_for_decoder_variants) {
    std::vector<json> decoders = {
        llama_tokenizer(kPieces, kMerges)["decoder"],
        json::parse(R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})"),
        json::parse(R"({"type":"Sequence","decoders":[{"type":"ByteFallback"},
            {"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}]})"),
        json::parse(R"({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
            {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":2,"stop":1}]})"),
        nullptr,
    };
    uint32_t state = 12345;
    auto next = [&](uint32_t n) {
        state = state * 1664525u + 1013904223u;
        return (state >> 8) % n;
    };
    for (const auto& d : decoders) {
        json tok = llama_tokenizer(kPieces, kMerges);
        tok["decoder"] = d;
        Vocab v = make(tok);
        BOOST_TEST_CONTEXT("decoder " << d.dump()) {
            for (int trial = 0; trial < 200; ++trial) {
                std::vector<int64_t> ids(1 + next(12));
                for (auto& x : ids) {  // favour the interesting tokens: specials, ▁, Hangul bytes
                    const uint32_t pick = next(6);
                    x = pick == 0 ? next(3) : pick == 1 ? 3 + 0xEB : pick == 2 ? 3 + 0x85 + next(2)
                      : pick == 3 ? id(v, "▁") : static_cast<int64_t>(next(static_cast<uint32_t>(v.size() + 2)));
                }
                for (bool skip : {true, false}) {
                    IncrementalDecoder dec(v, skip);
                    std::string out;
                    for (int64_t x : ids) out += dec.push(x);
                    out += dec.flush();
                    BOOST_TEST(out == v.decode(ids, skip));
                }
            }
        }
    }
}

// Damaged files: random edits of a valid tokenizer.json either load or throw troupe::Error —
// never another exception or a crash — and whatever loads can encode and decode.
BOOST_AUTO_TEST_CASE(mutated_files_load_or_fail_cleanly) {
    json base = llama_tokenizer(kPieces, kMerges);
    base["added_tokens"].push_back({{"id", 300}, {"content", "<|im_end|>"}, {"special", true}, {"lstrip", true}});
    base["normalizer"] = json::parse(R"({"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"}]})");
    const std::vector<std::string> leaves = [&] {
        std::vector<std::string> out;
        const json flat = base.flatten();
        for (const auto& item : flat.items()) {
            std::string p = item.key();
            for (;;) {  // every leaf and every container above it
                out.push_back(p);
                const size_t slash = p.rfind('/');
                if (slash == 0 || slash == std::string::npos) break;
                p.resize(slash);
            }
        }
        return out;
    }();
    const std::vector<json> values = {nullptr, -1, 0, 7, 4294967296LL, 2.5, "", "x", "▁", json::array(), json::object(),
                                      true, json::array({"a", "b"}), json::array({1, 2})};
    uint32_t state = 99;
    auto next = [&](uint32_t n) {
        state = state * 1664525u + 1013904223u;
        return (state >> 8) % n;
    };
    int loaded = 0, refused = 0;
    for (int trial = 0; trial < 1500; ++trial) {
        std::string text;
        const uint32_t kind = next(4);
        if (kind < 2) {
            json t = base;
            const json::json_pointer ptr(leaves[next(static_cast<uint32_t>(leaves.size()))]);
            if (kind == 0 && ptr != json::json_pointer()) {
                const json::json_pointer parent = ptr.parent_pointer();
                if (t[parent].is_object()) t[parent].erase(ptr.back());
                else if (t[parent].is_array() && !t[parent].empty()) t[parent].erase(t[parent].size() - 1);
            } else {
                t[ptr] = values[next(static_cast<uint32_t>(values.size()))];
            }
            text = t.dump();
        } else {
            text = base.dump();
            if (kind == 2) text.resize(next(static_cast<uint32_t>(text.size())));
            else for (int k = 0; k < 4; ++k) text[next(static_cast<uint32_t>(text.size()))] = static_cast<char>(next(256));
        }
        try {
            Vocab v = Vocab::from_json_text(text, "mutated");
            ++loaded;
            auto ids = v.encode("가나 abc</s>녕<|im_end|> 2024", true);
            ids.push_back(3 + 0xEB);
            ids.push_back(static_cast<int64_t>(next(400)));
            IncrementalDecoder dec(v);
            std::string streamed;
            for (int64_t x : ids) streamed += dec.push(x);
            streamed += dec.flush();
            BOOST_TEST(streamed == v.decode(ids));
        } catch (const Error&) {
            ++refused;
        } catch (const std::exception& e) {
            BOOST_ERROR("non-troupe exception: " << e.what());
        }
    }
    BOOST_TEST_MESSAGE("mutations: " << loaded << " loaded, " << refused << " refused");
    BOOST_TEST(refused > 0);
    BOOST_TEST(loaded > 0);
}

// One Vocab shared by several threads (the word cache is shared): same ids as one thread.
BOOST_AUTO_TEST_CASE(concurrent_encoding_is_consistent) {
    const Vocab v = make(llama_tokenizer(kPieces, kMerges));
    std::vector<std::string> texts;
    for (int i = 0; i < 64; ++i) texts.push_back(std::string(i % 5, 'a') + " abc 가" + std::string(i % 3, 'b') + "녕 cab");
    std::vector<std::vector<int64_t>> expected;
    for (const auto& t : texts) expected.push_back(v.encode(t, true));
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&, k] {
            for (int rep = 0; rep < 50; ++rep)
                for (size_t i = 0; i < texts.size(); ++i) {
                    const size_t j = (i * 7 + static_cast<size_t>(k + rep)) % texts.size();
                    if (v.encode(texts[j], true) != expected[j]) ++mismatches;
                }
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(mismatches.load() == 0);
}

// clean_up_tokenization_spaces (tokenizer_config.json): transformers' clean-up in decode and in
// streaming, whatever the chunking.
BOOST_AUTO_TEST_CASE(clean_up_tokenization_spaces) {
    const fs::path dir = fs::temp_directory_path() / ("troupe-vocab-cleanup-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "tokenizer.json") << llama_tokenizer(kPieces, kMerges).dump();
    std::ofstream(dir / "tokenizer_config.json") << R"({"clean_up_tokenization_spaces": true})";
    const Vocab v = Vocab::load(dir);
    fs::remove_all(dir);
    const std::string text = "I do n't know . Yes ? we 're ok , it 's fine ' ' n";
    const auto ids = v.encode(text, true);
    BOOST_TEST(v.decode(ids) == "I don't know. Yes? we're ok, it's fine'' n");
    const std::vector<int64_t> alphabet = {id(v, "▁"), 3 + ' ', 3 + '\'', 3 + 'n', 3 + 't', 3 + '.', 3 + 's',
                                           3 + 'v', 3 + 'e', 3 + 'r', 3 + 'm', 3 + ',', id(v, "a"), 1};
    uint32_t state = 7;
    auto next = [&](uint32_t n) {
        state = state * 1664525u + 1013904223u;
        return (state >> 8) % n;
    };
    for (int trial = 0; trial < 500; ++trial) {
        std::vector<int64_t> seq(1 + next(16));
        for (auto& x : seq) x = alphabet[next(static_cast<uint32_t>(alphabet.size()))];
        IncrementalDecoder dec(v);
        std::string out;
        for (int64_t x : seq) out += dec.push(x);
        out += dec.flush();
        BOOST_TEST(out == v.decode(seq));
    }
}

// Eager streaming: each character of a byte run comes out as soon as its bytes are complete.
BOOST_AUTO_TEST_CASE(eager_incremental_decoder) {
    Vocab v = make(llama_tokenizer(kPieces, kMerges));
    const int64_t eb = 3 + 0xEB, x85 = 3 + 0x85, x95 = 3 + 0x95, x41 = 3 + 0x41;
    IncrementalDecoder dec(v, true, true);
    BOOST_TEST(dec.push(1) == "");
    BOOST_TEST(dec.push(id(v, "▁가")) == "가");
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(x85) == "");
    BOOST_TEST(dec.push(x95) == "녕");  // no need to wait for the run to end
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(x85) == "");
    BOOST_TEST(dec.push(x95) == "녕");
    BOOST_TEST(dec.push(id(v, "▁a")) == " a");
    BOOST_TEST(dec.flush() == "");
    // at the very start the run waits (the leading-space rule applies to the first output)
    dec.reset();
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(x85) == "");
    BOOST_TEST(dec.push(x95) == "");
    BOOST_TEST(dec.flush() == "녕");
    // a run that turns invalid: what is out stays, the rest is U+FFFD
    dec.reset();
    BOOST_TEST(dec.push(id(v, "a")) == "a");
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(x85) == "");
    BOOST_TEST(dec.push(x95) == "녕");
    BOOST_TEST(dec.push(x41) == "A");
    BOOST_TEST(dec.push(eb) == "");
    BOOST_TEST(dec.push(id(v, "▁a")) == kFFFD + " a");
    // on valid text eager and exact streaming give decode() exactly
    const auto ids = v.encode("가녕 녕녕a 가 😀 abc", true);
    IncrementalDecoder eager(v, true, true);
    std::string out;
    for (int64_t x : ids) out += eager.push(x);
    BOOST_TEST(out + eager.flush() == v.decode(ids));
}
