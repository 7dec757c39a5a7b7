#include "tokenizer.hpp"

#include <troupe/json_file.hpp>
#include <troupe/status.hpp>
#include <troupe/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <map>

namespace troupe::whisper {
namespace {

/// GPT-2's bytes_to_unicode, inverted: code point of the symbol -> byte.
const std::map<uint32_t, uint8_t>& unicode_to_byte() {
    static const std::map<uint32_t, uint8_t> table = [] {
        std::map<uint32_t, uint8_t> t;
        std::array<bool, 256> printable{};
        auto mark = [&](int a, int b) { for (int i = a; i <= b; ++i) printable[size_t(i)] = true; };
        mark('!', '~'); mark(0xA1, 0xAC); mark(0xAE, 0xFF);
        uint32_t next = 256;
        for (int b = 0; b < 256; ++b) t[printable[size_t(b)] ? uint32_t(b) : next++] = uint8_t(b);
        return t;
    }();
    return table;
}

void put(std::vector<std::string>& pieces, int64_t id, const std::string& token, const std::string& file) {
    if (id < 0 || id > 10'000'000) throw Error(Errc::invalid_file, fmt::format("{}: token id {} out of range", file, id));
    if (size_t(id) >= pieces.size()) pieces.resize(size_t(id) + 1);
    pieces[size_t(id)] = token;
}

void read_map(const nlohmann::json& j, std::vector<std::string>& pieces, const std::string& file) {
    if (!j.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: the vocabulary is not an object", file));
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (!it.value().is_number_integer()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' has no integer id", file, it.key()));
        put(pieces, it.value().get<int64_t>(), it.key(), file);
    }
}

}  // namespace

Tokenizer Tokenizer::load_dir(const std::string& dir, int64_t first_special) {
    namespace fs = std::filesystem;
    Tokenizer t;
    t.first_special_ = first_special;
    const std::string tj = dir + "/tokenizer.json", vj = dir + "/vocab.json";
    if (fs::exists(tj)) {
        const nlohmann::json j = read_json_file(tj);
        if (!j.contains("model") || !j["model"].contains("vocab"))
            throw Error(Errc::invalid_file, fmt::format("{}: no model.vocab", tj));
        read_map(j["model"]["vocab"], t.pieces_, tj);
        if (j.contains("added_tokens") && j["added_tokens"].is_array())
            for (const auto& a : j["added_tokens"])
                if (a.contains("id") && a.contains("content")) put(t.pieces_, a["id"].get<int64_t>(), a["content"].get<std::string>(), tj);
    } else if (fs::exists(vj)) {
        read_map(read_json_file(vj), t.pieces_, vj);
        const std::string added = dir + "/added_tokens.json";
        if (fs::exists(added)) read_map(read_json_file(added), t.pieces_, added);
    } else {
        throw Error(Errc::not_found, fmt::format("{}: no tokenizer.json or vocab.json", dir));
    }
    const std::string tc = dir + "/tokenizer_config.json";
    if (fs::exists(tc)) {
        const nlohmann::json c = read_json_file(tc);
        t.clean_up_spaces_ = c.value("clean_up_tokenization_spaces", false);
    }
    return t;
}

const std::string& Tokenizer::piece(int64_t id) const {
    static const std::string empty;
    return id >= 0 && size_t(id) < pieces_.size() ? pieces_[size_t(id)] : empty;
}

std::string Tokenizer::decode_utf8_replace(const std::string& s) {
    static const std::string kReplacement = "\xEF\xBF\xBD";
    std::string out;
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        const uint8_t b = uint8_t(s[i]);
        if (b < 0x80) { out += char(b); ++i; continue; }
        size_t len = 0;
        uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
        if (b >= 0xC2 && b <= 0xDF) len = 2;
        else if (b == 0xE0) { len = 3; lo = 0xA0; }
        else if (b >= 0xE1 && b <= 0xEC) len = 3;
        else if (b == 0xED) { len = 3; hi = 0x9F; }
        else if (b >= 0xEE && b <= 0xEF) len = 3;
        else if (b == 0xF0) { len = 4; lo = 0x90; }
        else if (b >= 0xF1 && b <= 0xF3) len = 4;
        else if (b == 0xF4) { len = 4; hi = 0x8F; }
        if (len == 0) { out += kReplacement; ++i; continue; }
        size_t k = 1;  // bytes of a valid prefix
        while (k < len && i + k < n) {
            const uint8_t c = uint8_t(s[i + k]);
            const bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
            if (!ok) break;
            ++k;
        }
        if (k == len) out.append(s, i, len);
        else out += kReplacement;
        i += k;
    }
    return out;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
    const auto& table = unicode_to_byte();
    std::string bytes;
    for (int64_t id : ids) {
        if (id >= first_special_ || id < 0) continue;
        const std::string& p = piece(id);
        for (char32_t cp : utf8_decode(p)) {
            auto it = table.find(uint32_t(cp));
            if (it != table.end()) bytes += char(it->second);
        }
    }
    std::string text = decode_utf8_replace(bytes);
    if (clean_up_spaces_) {
        // transformers' clean_up_tokenization
        static const std::pair<const char*, const char*> rules[] = {
            {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
            {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
        for (const auto& [from, to] : rules) {
            std::string r;
            const std::string f = from;
            size_t pos = 0, hit;
            while ((hit = text.find(f, pos)) != std::string::npos) { r.append(text, pos, hit - pos); r += to; pos = hit + f.size(); }
            r.append(text, pos, std::string::npos);
            text = std::move(r);
        }
    }
    return text;
}

}  // namespace troupe::whisper
