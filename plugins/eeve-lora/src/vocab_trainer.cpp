// vocab_trainer.cpp — byte-fallback BPE training (see vocab_trainer.hpp).
#include "vocab_trainer.hpp"

#include "utf8.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <queue>

namespace troupe::llama {

using json = nlohmann::json;

namespace {

const std::string kMeta = "\xE2\x96\x81";  // ▁
constexpr char32_t kMetaChar = 0x2581;
constexpr int32_t kFirstPieceId = 259;     // after <unk> <s> </s> and the 256 byte tokens

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t pair_left(uint64_t k) { return static_cast<int32_t>(k >> 32); }
int32_t pair_right(uint64_t k) { return static_cast<int32_t>(k & 0xFFFFFFFFu); }

std::string byte_token(int b) { return fmt::format("<0x{:02X}>", b); }

}  // namespace

BpeTrainer::BpeTrainer(BpeTrainerOptions options) : options_(options) {}

void BpeTrainer::add_text(std::string_view text) {
    size_t begin = 0;
    while (begin <= text.size()) {
        size_t end = text.find('\n', begin);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(begin, end - begin);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        begin = end + 1;
        if (line.empty()) {
            if (end == text.size()) break;
            continue;
        }
        if (utf8::first_invalid(line) != std::string_view::npos) {
            ++stats_.skipped_lines;
            continue;
        }
        ++stats_.lines;
        // Metaspace with a dummy prefix; every ▁ starts a word.
        std::string word = kMeta;
        bmp_counts_[kMetaChar]++;
        for (size_t i = 0; i < line.size();) {
            const size_t n = utf8::valid_len(line, i);
            char32_t c = utf8::decode_at(line, i, n);
            if (c == ' ') c = kMetaChar;
            if (c == kMetaChar) {
                if (!word.empty()) word_counts_[word]++;
                word = kMeta;
            } else {
                word.append(line.substr(i, n));
            }
            if (c < 0x10000) bmp_counts_[c]++;
            else astral_counts_[c]++;
            ++stats_.characters;
            i += n;
        }
        stats_.characters += 1;  // the dummy prefix
        if (!word.empty()) word_counts_[word]++;
        if (end == text.size()) break;
    }
}

void BpeTrainer::add_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, fmt::format("{}: cannot open", path.string()));
    std::string chunk;
    std::string line;
    while (std::getline(in, line)) {
        chunk += line;
        chunk += '\n';
        if (chunk.size() > (1u << 20)) {
            add_text(chunk);
            chunk.clear();
        }
    }
    if (in.bad()) throw Error(Errc::invalid_file, fmt::format("{}: read error", path.string()));
    add_text(chunk);
}

std::string BpeTrainer::train() {
    const auto t0 = std::chrono::steady_clock::now();
    if (word_counts_.empty()) throw Error(Errc::invalid_argument, "BPE training: the corpus is empty");
    if (options_.vocab_size < kFirstPieceId + 1)
        throw Error(Errc::invalid_argument,
                    fmt::format("BPE training: vocab_size {} is below {} (3 specials + 256 bytes + \"▁\")",
                                options_.vocab_size, kFirstPieceId + 1));
    if (!(options_.character_coverage > 0.0 && options_.character_coverage <= 1.0))
        throw Error(Errc::invalid_argument, "BPE training: character_coverage must be in (0, 1]");
    const int64_t room = options_.vocab_size - kFirstPieceId;

    // Alphabet: most frequent characters up to the coverage (▁ always), at most `room` of them.
    std::vector<std::pair<char32_t, int64_t>> chars(astral_counts_.begin(), astral_counts_.end());
    for (char32_t c = 0; c < 0x10000; ++c)
        if (bmp_counts_[c] > 0) chars.emplace_back(c, bmp_counts_[c]);
    std::sort(chars.begin(), chars.end(), [](const auto& x, const auto& y) {
        return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    int64_t total = 0;
    for (const auto& c : chars) total += c.second;
    std::vector<char32_t> alphabet{kMetaChar};
    {
        int64_t covered = bmp_counts_[kMetaChar];
        const double need = options_.character_coverage * static_cast<double>(total);
        for (const auto& [c, n] : chars) {
            if (c == kMetaChar) continue;
            if (static_cast<int64_t>(alphabet.size()) >= room) break;
            if (static_cast<double>(covered) >= need) break;
            alphabet.push_back(c);
            covered += n;
        }
    }
    // Symbols: alphabet characters first (ids 0..), merged pieces appended.
    std::vector<std::string> sym_str;
    std::vector<int32_t> sym_chars;
    std::vector<uint8_t> sym_frozen;  // digits never merge
    std::unordered_map<char32_t, int32_t> char_sym;
    for (char32_t c : alphabet) {
        char_sym[c] = static_cast<int32_t>(sym_str.size());
        sym_str.push_back(utf8::encode(c));
        sym_chars.push_back(1);
        sym_frozen.push_back(options_.split_digits && c >= '0' && c <= '9');
    }
    constexpr int32_t kOutside = -1;  // a character outside the alphabet: byte fallback, no merges

    struct Word {
        std::vector<int32_t> syms;
        int64_t count;
        uint32_t stamp = 0;
    };
    std::vector<Word> words;
    words.reserve(word_counts_.size());
    {
        std::vector<std::pair<std::string, int64_t>> sorted(word_counts_.begin(), word_counts_.end());
        std::sort(sorted.begin(), sorted.end());  // deterministic word order
        for (const auto& [text, count] : sorted) {
            Word w{{}, count};
            for (size_t i = 0; i < text.size();) {
                const size_t n = utf8::valid_len(text, i);
                auto it = char_sym.find(utf8::decode_at(text, i, n));
                w.syms.push_back(it == char_sym.end() ? kOutside : it->second);
                i += n;
            }
            words.push_back(std::move(w));
        }
    }
    stats_.unique_words = static_cast<int64_t>(words.size());
    stats_.alphabet = static_cast<int64_t>(alphabet.size());

    auto mergeable = [&](int32_t a, int32_t b) {
        return a != kOutside && b != kOutside && !sym_frozen[a] && !sym_frozen[b];
    };
    std::unordered_map<uint64_t, int64_t> pair_count;
    std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;  // may hold duplicates
    for (size_t wi = 0; wi < words.size(); ++wi) {
        const auto& s = words[wi].syms;
        for (size_t i = 0; i + 1 < s.size(); ++i) {
            if (!mergeable(s[i], s[i + 1])) continue;
            const uint64_t k = pair_key(s[i], s[i + 1]);
            pair_count[k] += words[wi].count;
            pair_words[k].push_back(static_cast<int32_t>(wi));
        }
    }
    // Max-heap on count; ties: the smaller pair key (deterministic). Entries go stale and are
    // re-checked when popped.
    using Entry = std::pair<int64_t, uint64_t>;
    auto cmp = [](const Entry& x, const Entry& y) { return x.first != y.first ? x.first < y.first : x.second > y.second; };
    std::priority_queue<Entry, std::vector<Entry>, decltype(cmp)> heap(cmp);
    for (const auto& [k, n] : pair_count) heap.push({n, k});

    std::unordered_map<std::string, int32_t> piece_sym;  // merged string → symbol (duplicates reuse)
    for (size_t i = 0; i < sym_str.size(); ++i) piece_sym[sym_str[i]] = static_cast<int32_t>(i);
    std::vector<std::pair<int32_t, int32_t>> merges;
    std::vector<int32_t> new_pieces;  // symbols created by merges, in order
    const int64_t max_new = room - static_cast<int64_t>(alphabet.size());
    uint32_t stamp = 0;

    while (static_cast<int64_t>(new_pieces.size()) < max_new && !heap.empty()) {
        auto [count, key] = heap.top();
        heap.pop();
        auto pc = pair_count.find(key);
        const int64_t current = pc == pair_count.end() ? 0 : pc->second;
        if (current != count) {
            if (current > 0) heap.push({current, key});
            continue;
        }
        if (count < options_.min_pair_count) break;
        const int32_t a = pair_left(key), b = pair_right(key);
        if (sym_chars[a] + sym_chars[b] > options_.max_piece_chars) {
            pair_count.erase(key);  // never merged
            continue;
        }
        std::string merged = sym_str[a] + sym_str[b];
        if (merged.size() == 6 && merged.compare(0, 3, "<0x") == 0 && merged.back() == '>') {
            pair_count.erase(key);  // would collide with a byte token's name
            continue;
        }
        if (merged == "<unk>" || merged == "<s>" || merged == "</s>") {
            pair_count.erase(key);
            continue;
        }
        int32_t c;
        if (auto it = piece_sym.find(merged); it != piece_sym.end()) {
            c = it->second;
        } else {
            c = static_cast<int32_t>(sym_str.size());
            sym_str.push_back(merged);
            sym_chars.push_back(sym_chars[a] + sym_chars[b]);
            sym_frozen.push_back(0);
            piece_sym.emplace(std::move(merged), c);
            new_pieces.push_back(c);
        }
        merges.emplace_back(a, b);

        // Apply to every word holding the pair; update pair counts by the difference.
        ++stamp;
        std::vector<int32_t> where = std::move(pair_words[key]);
        pair_words.erase(key);
        std::unordered_map<uint64_t, int64_t> grown;
        for (int32_t wi : where) {
            Word& w = words[wi];
            if (w.stamp == stamp) continue;
            w.stamp = stamp;
            auto& s = w.syms;
            bool has = false;
            for (size_t i = 0; i + 1 < s.size() && !has; ++i) has = s[i] == a && s[i + 1] == b;
            if (!has) continue;
            for (size_t i = 0; i + 1 < s.size(); ++i)
                if (mergeable(s[i], s[i + 1])) pair_count[pair_key(s[i], s[i + 1])] -= w.count;
            std::vector<int32_t> next;
            next.reserve(s.size());
            for (size_t i = 0; i < s.size();) {
                if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
                    next.push_back(c);
                    i += 2;
                } else {
                    next.push_back(s[i]);
                    ++i;
                }
            }
            s.swap(next);
            for (size_t i = 0; i + 1 < s.size(); ++i) {
                if (!mergeable(s[i], s[i + 1])) continue;
                const uint64_t k = pair_key(s[i], s[i + 1]);
                pair_count[k] += w.count;
                if (s[i] == c || s[i + 1] == c) {
                    pair_words[k].push_back(wi);
                    grown[k] = 0;
                }
            }
        }
        pair_count.erase(key);
        for (const auto& g : grown) {
            const int64_t n = pair_count[g.first];
            if (n > 0) heap.push({n, g.first});
        }
    }

    // Token ids: specials, bytes, merged pieces in merge order, then the alphabet. Written by hand
    // in id order (as transformers saves it); the small sections go through ordered_json.
    std::vector<std::string> pieces{"<unk>", "<s>", "</s>"};
    for (int b = 0; b < 256; ++b) pieces.push_back(byte_token(b));
    for (int32_t s : new_pieces) pieces.push_back(sym_str[s]);
    for (size_t i = 0; i < alphabet.size(); ++i) pieces.push_back(sym_str[i]);

    using ojson = nlohmann::ordered_json;
    ojson added = ojson::array();
    for (auto [content, id] : {std::pair{"<unk>", 0}, std::pair{"<s>", 1}, std::pair{"</s>", 2}})
        added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                         {"rstrip", false}, {"normalized", false}, {"special", true}});
    const ojson pre = {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", "first"}, {"split", false}};
    const ojson bos_item = {{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}};
    const ojson post = {
        {"type", "TemplateProcessing"},
        {"single", ojson::array({bos_item, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"pair", ojson::array({bos_item,
                               {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                               {{"SpecialToken", {{"id", "<s>"}, {"type_id", 1}}}},
                               {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", ojson::array({1})}, {"tokens", ojson::array({"<s>"})}}}}}};
    const ojson decoder = {
        {"type", "Sequence"},
        {"decoders", ojson::array({{{"type", "Replace"}, {"pattern", {{"String", kMeta}}}, {"content", " "}},
                                   {{"type", "ByteFallback"}},
                                   {{"type", "Fuse"}},
                                   {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
    auto str = [](const std::string& s) { return json(s).dump(-1, ' ', false); };
    std::string out = "{\n";
    out += "  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
    out += "  \"added_tokens\": " + added.dump(-1, ' ', false) + ",\n";
    out += "  \"normalizer\": null,\n";
    out += "  \"pre_tokenizer\": " + pre.dump(-1, ' ', false) + ",\n";
    out += "  \"post_processor\": " + post.dump(-1, ' ', false) + ",\n";
    out += "  \"decoder\": " + decoder.dump(-1, ' ', false) + ",\n";
    out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": \"<unk>\",\n"
           "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
           "    \"fuse_unk\": true,\n    \"byte_fallback\": true,\n    \"ignore_merges\": false,\n";
    out += "    \"vocab\": {";
    for (size_t i = 0; i < pieces.size(); ++i)
        out += fmt::format("{}\n      {}: {}", i ? "," : "", str(pieces[i]), i);
    out += "\n    },\n    \"merges\": [";
    for (size_t i = 0; i < merges.size(); ++i)
        out += fmt::format("{}\n      [{}, {}]", i ? "," : "", str(sym_str[merges[i].first]), str(sym_str[merges[i].second]));
    out += "\n    ]\n  }\n}\n";
    const int64_t next_id = static_cast<int64_t>(pieces.size());

    stats_.merges = static_cast<int64_t>(merges.size());
    stats_.vocab_size = next_id;
    stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

void BpeTrainer::write_folder(const std::string& tokenizer_json, const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(Errc::runtime, fmt::format("{}: cannot create folder: {}", dir.string(), ec.message()));
    auto write = [&](const char* name, const std::string& text) {
        const auto path = dir / name;
        std::ofstream out(path, std::ios::binary);
        out << text;
        if (!out) throw Error(Errc::runtime, fmt::format("{}: cannot write", path.string()));
    };
    write("tokenizer.json", tokenizer_json);
    const json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                         {"bos_token", "<s>"},
                         {"eos_token", "</s>"},
                         {"unk_token", "<unk>"},
                         {"add_bos_token", true},
                         {"add_eos_token", false},
                         {"clean_up_tokenization_spaces", false},
                         {"model_max_length", 4096}};
    write("tokenizer_config.json", config.dump(2) + "\n");
    json special = json::object();
    for (auto [key, content] : {std::pair{"bos_token", "<s>"}, std::pair{"eos_token", "</s>"}, std::pair{"unk_token", "<unk>"}})
        special[key] = {{"content", content}, {"lstrip", false}, {"normalized", false}, {"rstrip", false}, {"single_word", false}};
    write("special_tokens_map.json", special.dump(2) + "\n");
}

}  // namespace troupe::llama
