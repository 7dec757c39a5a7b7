// vocab.cpp — tokenizer.json BPE (see vocab.hpp). Mirrors the behaviour of HF `tokenizers`.
#include "vocab.hpp"

#include "utf8.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <mutex>
#include <queue>
#include <sstream>
#include <unordered_map>

namespace troupe::llama {

using json = nlohmann::json;

namespace {

constexpr int32_t kMaxVocab = 16 * 1024 * 1024;  // sanity bound on ids read from the file
constexpr size_t kMaxCachedWord = 256;           // bytes; longer words are not cached
constexpr size_t kMaxCacheEntries = 1 << 18;

// ---- UTF-8 -------------------------------------------------------------------------------------

using utf8::decode_at;
using utf8::first_invalid;
using utf8::valid_len;

// Splits valid UTF-8 into its characters (byte slices).
std::vector<std::string_view> utf8_chars(std::string_view s) {
    std::vector<std::string_view> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        size_t n = valid_len(s, i);
        if (n == 0) n = 1;  // callers validate first; never loop forever
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

bool is_single_char(std::string_view s) { return !s.empty() && valid_len(s, 0) == s.size(); }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    if (from.empty()) return;
    std::string out;
    size_t pos = 0;
    for (;;) {
        size_t hit = s.find(from, pos);
        if (hit == std::string::npos) break;
        out.append(s, pos, hit - pos);
        out.append(to);
        pos = hit + from.size();
    }
    if (pos == 0) return;
    out.append(s, pos, std::string::npos);
    s.swap(out);
}

// Unicode White_Space (what Rust's char::is_whitespace accepts).
bool is_unicode_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

int byte_token_value(std::string_view piece) {
    if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    int hi = hex(piece[3]), lo = hex(piece[4]);
    return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

// ---- Impl --------------------------------------------------------------------------------------

enum class PrependScheme { always, first, never };

struct AddedToken {
    int32_t id = 0;
    std::string content;
    std::string pattern;  // what is matched (content, or its normalized form)
    bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

struct NormStep {
    enum Kind { prepend, replace } kind;
    std::string a, b;
};

struct PreStep {
    enum Kind { metaspace, digits } kind;
    std::string replacement;
    PrependScheme scheme = PrependScheme::always;
    bool split = true;
    bool individual_digits = false;
};

struct DecStep {
    enum Kind { replace, byte_fallback, fuse, strip, metaspace } kind;
    std::string a, b;  // replace: pattern, content; strip/metaspace: the character
    size_t start = 0, stop = 0;
    bool strip_first = false;  // metaspace: drop the replacement char in the first token
};

struct Vocab::Impl {
    std::string origin;
    std::vector<std::string> pieces;                       // id → token string
    std::unordered_map<std::string, int32_t> model_vocab;  // BPE model vocabulary
    std::unordered_map<char32_t, int32_t> char_ids;        // single-character entries of model_vocab
    std::unordered_map<std::string, int32_t> all_tokens;   // model vocab + added tokens
    std::vector<uint8_t> special;                          // per id
    std::vector<int16_t> byte_of;                          // per id: byte of a <0xHH> token, or -1
    std::array<int32_t, 256> byte_id{};
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (a,b) → (rank, merged id)
    bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
    int32_t unk = -1;

    std::vector<AddedToken> raw_added, norm_added;  // matched before / after normalization
    std::array<bool, 256> raw_first{}, norm_first{};  // first bytes of their patterns
    std::vector<NormStep> normalizer;
    std::vector<PreStep> pre_tokenizer;
    bool has_post = false;
    std::vector<int32_t> post_prefix, post_suffix;
    bool has_decoder = false;
    bool decoder_byte_fallback = false;
    std::vector<DecStep> decoder;
    int64_t bos = -1, eos = -1;
    bool split_at_meta = false;  // words can be cut before each "▁" run (no merge crosses it)

    mutable std::mutex cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

    // encode helpers
    void encode_text(std::string_view text, bool at_origin, std::vector<int32_t>& out) const;
    void encode_normalized(std::string_view text, bool at_origin, std::vector<int32_t>& out) const;
    void bpe_word(std::string_view word, std::vector<int32_t>& out) const;
    void bpe_cached(std::string_view word, std::vector<int32_t>& out) const;
    void bpe_compute(std::string_view word, std::vector<int32_t>& out) const;
    std::string normalize(std::string_view text) const;
    std::vector<std::string> decode_chain(std::vector<std::string> tokens) const;
    // Surviving token strings of ids (unknown ids and, if asked, special tokens dropped).
    std::vector<std::string> surviving(const int64_t* ids, size_t count, bool skip_special) const;
    // Decoder output for `tokens`; at_start=false decodes them as the continuation of earlier
    // tokens (needs window_decode_ok).
    std::string decode_tokens(std::vector<std::string> tokens, bool at_start) const;
    bool window_decode_ok = true;  // decoders only look at the start (Strip start<=1, stop 0)
    bool cleanup_spaces = false;   // tokenizer_config.json clean_up_tokenization_spaces
    bool eager_ok = false;         // byte runs decode to their bytes untouched (eager streaming)
};

namespace {

// ---- loading -----------------------------------------------------------------------------------

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
    throw Error(Errc::invalid_file, fmt::format("{}: {}", origin, what));
}
[[noreturn]] void unsupported(const std::string& origin, const std::string& what) {
    throw Error(Errc::unsupported, fmt::format("{}: {}", origin, what));
}

const json& need(const std::string& origin, const json& obj, const char* key, const std::string& where) {
    if (!obj.is_object()) bad(origin, fmt::format("{} is not an object", where));
    auto it = obj.find(key);
    if (it == obj.end()) bad(origin, fmt::format("{} has no \"{}\"", where, key));
    return *it;
}

std::string need_string(const std::string& origin, const json& obj, const char* key, const std::string& where) {
    const json& v = need(origin, obj, key, where);
    if (!v.is_string()) bad(origin, fmt::format("{}.{} is not a string", where, key));
    return v.get<std::string>();
}

bool opt_bool(const std::string& origin, const json& obj, const char* key, bool dflt, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) bad(origin, fmt::format("{}.{} is not a boolean", where, key));
    return it->get<bool>();
}

int32_t need_id(const std::string& origin, const json& v, const std::string& where) {
    if (!v.is_number_integer()) bad(origin, fmt::format("{} is not an integer id", where));
    auto id = v.get<int64_t>();
    if (id < 0 || id >= kMaxVocab) bad(origin, fmt::format("{} = {} is out of range", where, id));
    return static_cast<int32_t>(id);
}

std::string single_char(const std::string& origin, const json& obj, const char* key, const std::string& where) {
    std::string s = need_string(origin, obj, key, where);
    if (!is_single_char(s)) bad(origin, fmt::format("{}.{} must be one character", where, key));
    return s;
}

std::string string_pattern(const std::string& origin, const json& obj, const std::string& where) {
    const json& pat = need(origin, obj, "pattern", where);
    if (pat.is_object() && pat.contains("String")) {
        if (!pat["String"].is_string()) bad(origin, where + ".pattern.String is not a string");
        return pat["String"].get<std::string>();
    }
    if (pat.is_object() && pat.contains("Regex")) unsupported(origin, where + ": Regex patterns are not supported");
    bad(origin, where + ".pattern must be {\"String\": ...}");
}

PrependScheme parse_scheme(const std::string& origin, const json& obj, const std::string& where) {
    PrependScheme scheme = PrependScheme::always;
    if (auto it = obj.find("prepend_scheme"); it != obj.end() && !it->is_null()) {
        if (!it->is_string()) bad(origin, where + ".prepend_scheme is not a string");
        const std::string s = it->get<std::string>();
        if (s == "always") scheme = PrependScheme::always;
        else if (s == "first") scheme = PrependScheme::first;
        else if (s == "never") scheme = PrependScheme::never;
        else bad(origin, fmt::format("{}.prepend_scheme \"{}\" is not always|first|never", where, s));
    }
    if (auto it = obj.find("add_prefix_space"); it != obj.end() && it->is_boolean() && !it->get<bool>())
        scheme = PrependScheme::never;  // legacy field
    return scheme;
}

void parse_normalizer(const std::string& origin, const json& n, const std::string& where,
                      std::vector<NormStep>& out) {
    if (n.is_null()) return;
    const std::string type = need_string(origin, n, "type", where);
    if (type == "Sequence") {
        const json& list = need(origin, n, "normalizers", where);
        if (!list.is_array()) bad(origin, where + ".normalizers is not an array");
        for (size_t i = 0; i < list.size(); ++i)
            parse_normalizer(origin, list[i], fmt::format("{}.normalizers[{}]", where, i), out);
    } else if (type == "Prepend") {
        out.push_back({NormStep::prepend, need_string(origin, n, "prepend", where), {}});
    } else if (type == "Replace") {
        out.push_back({NormStep::replace, string_pattern(origin, n, where), need_string(origin, n, "content", where)});
    } else {
        unsupported(origin, fmt::format("{}: normalizer type \"{}\" is not supported", where, type));
    }
}

void parse_pre_tokenizer(const std::string& origin, const json& p, const std::string& where,
                         std::vector<PreStep>& out) {
    if (p.is_null()) return;
    const std::string type = need_string(origin, p, "type", where);
    if (type == "Sequence") {
        const json& list = need(origin, p, "pretokenizers", where);
        if (!list.is_array()) bad(origin, where + ".pretokenizers is not an array");
        for (size_t i = 0; i < list.size(); ++i)
            parse_pre_tokenizer(origin, list[i], fmt::format("{}.pretokenizers[{}]", where, i), out);
    } else if (type == "Metaspace") {
        PreStep s{PreStep::metaspace};
        s.replacement = single_char(origin, p, "replacement", where);
        s.scheme = parse_scheme(origin, p, where);
        s.split = opt_bool(origin, p, "split", true, where);
        out.push_back(s);
    } else if (type == "Digits") {
        PreStep s{PreStep::digits};
        s.individual_digits = opt_bool(origin, p, "individual_digits", false, where);
        out.push_back(s);
    } else {
        unsupported(origin, fmt::format("{}: pre_tokenizer type \"{}\" is not supported", where, type));
    }
}

void parse_decoder(const std::string& origin, const json& d, const std::string& where, std::vector<DecStep>& out) {
    const std::string type = need_string(origin, d, "type", where);
    if (type == "Sequence") {
        const json& list = need(origin, d, "decoders", where);
        if (!list.is_array()) bad(origin, where + ".decoders is not an array");
        for (size_t i = 0; i < list.size(); ++i)
            parse_decoder(origin, list[i], fmt::format("{}.decoders[{}]", where, i), out);
    } else if (type == "Replace") {
        out.push_back({DecStep::replace, string_pattern(origin, d, where), need_string(origin, d, "content", where)});
    } else if (type == "ByteFallback") {
        out.push_back({DecStep::byte_fallback});
    } else if (type == "Fuse") {
        out.push_back({DecStep::fuse});
    } else if (type == "Strip") {
        DecStep s{DecStep::strip};
        s.a = single_char(origin, d, "content", where);
        for (auto [key, dst] : {std::pair{"start", &s.start}, std::pair{"stop", &s.stop}}) {
            const json& v = need(origin, d, key, where);
            if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
                bad(origin, fmt::format("{}.{} is not a non-negative integer", where, key));
            *dst = v.get<size_t>();
        }
        out.push_back(s);
    } else if (type == "Metaspace") {
        DecStep s{DecStep::metaspace};
        s.a = single_char(origin, d, "replacement", where);
        s.strip_first = parse_scheme(origin, d, where) != PrependScheme::never;
        out.push_back(s);
    } else {
        unsupported(origin, fmt::format("{}: decoder type \"{}\" is not supported", where, type));
    }
}

// True when the decoder turns a run of byte tokens into exactly its bytes (if valid) at the place
// it stands: steps before ByteFallback cannot touch "<0xHH>" strings, only Fuse/Strip after it.
bool byte_runs_pass_through(const std::vector<DecStep>& steps) {
    static const std::string kByteTokenChars = "<>0123456789ABCDEFabcdefx";
    bool seen = false;
    for (const auto& s : steps) {
        if (s.kind == DecStep::byte_fallback) {
            if (seen) return false;
            seen = true;
        } else if (!seen) {
            if (s.kind == DecStep::fuse) return false;
            if ((s.kind == DecStep::replace || s.kind == DecStep::strip) &&
                s.a.find_first_not_of(kByteTokenChars) == std::string::npos)
                return false;
        } else if (s.kind != DecStep::fuse && s.kind != DecStep::strip) {
            return false;
        }
    }
    return seen;
}

// TemplateProcessing "single": the ids before and after $A.
void parse_template(const std::string& origin, const json& p, const std::string& where,
                    std::vector<int32_t>& prefix, std::vector<int32_t>& suffix) {
    const json& single = need(origin, p, "single", where);
    if (!single.is_array()) bad(origin, where + ".single is not an array");
    const json& specials = need(origin, p, "special_tokens", where);
    if (!specials.is_object()) bad(origin, where + ".special_tokens is not an object");
    bool seen_a = false;
    for (size_t i = 0; i < single.size(); ++i) {
        const std::string w = fmt::format("{}.single[{}]", where, i);
        const json& item = single[i];
        if (!item.is_object()) bad(origin, w + " is not an object");
        if (item.contains("Sequence")) {
            if (seen_a) bad(origin, w + ": the sequence appears twice");
            seen_a = true;
        } else if (item.contains("SpecialToken")) {
            const std::string name = need_string(origin, item["SpecialToken"], "id", w + ".SpecialToken");
            auto it = specials.find(name);
            if (it == specials.end()) bad(origin, fmt::format("{}: special token \"{}\" is not in special_tokens", w, name));
            const json& ids = need(origin, *it, "ids", fmt::format("{}.special_tokens[\"{}\"]", where, name));
            if (!ids.is_array()) bad(origin, fmt::format("{}.special_tokens[\"{}\"].ids is not an array", where, name));
            for (const json& id : ids)
                (seen_a ? suffix : prefix).push_back(need_id(origin, id, fmt::format("{}.special_tokens[\"{}\"].ids", where, name)));
        } else {
            bad(origin, w + " is neither SpecialToken nor Sequence");
        }
    }
    if (!seen_a) bad(origin, where + ".single has no Sequence");
}

void parse_post_processor(const std::string& origin, const json& p, const std::string& where, Vocab::Impl& v) {
    if (p.is_null()) return;
    const std::string type = need_string(origin, p, "type", where);
    if (type == "Sequence") {
        const json& list = need(origin, p, "processors", where);
        if (!list.is_array()) bad(origin, where + ".processors is not an array");
        for (size_t i = 0; i < list.size(); ++i)
            parse_post_processor(origin, list[i], fmt::format("{}.processors[{}]", where, i), v);
    } else if (type == "TemplateProcessing") {
        if (v.has_post) unsupported(origin, where + ": more than one TemplateProcessing");
        parse_template(origin, p, where, v.post_prefix, v.post_suffix);
        v.has_post = true;
    } else if (type == "ByteLevel") {
        // only adjusts offsets; no effect on ids
    } else {
        unsupported(origin, fmt::format("{}: post_processor type \"{}\" is not supported", where, type));
    }
}

void set_piece(Vocab::Impl& v, int32_t id, const std::string& piece) {
    if (static_cast<size_t>(id) >= v.pieces.size()) {
        v.pieces.resize(static_cast<size_t>(id) + 1);
        v.special.resize(v.pieces.size(), 0);
        v.byte_of.resize(v.pieces.size(), -1);
    }
    v.pieces[id] = piece;
    v.byte_of[id] = static_cast<int16_t>(byte_token_value(piece));
}

std::optional<std::string> config_token(const json& cfg, const char* key) {
    auto it = cfg.find(key);
    if (it == cfg.end()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return std::nullopt;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, fmt::format("{}: cannot open", path.string()));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(Errc::invalid_file, fmt::format("{}: read error", path.string()));
    return ss.str();
}

}  // namespace

Vocab Vocab::from_json_text(std::string_view json_text, const std::string& origin) {
    json root;
    try {
        root = json::parse(json_text.begin(), json_text.end());
    } catch (const json::exception& e) {
        bad(origin, fmt::format("not valid JSON: {}", e.what()));
    }
    if (!root.is_object()) bad(origin, "the top level is not an object");

    auto v = std::make_shared<Vocab::Impl>();
    v->origin = origin;
    v->byte_id.fill(-1);

    // model
    const json& model = need(origin, root, "model", "tokenizer.json");
    if (!model.is_object()) bad(origin, "model is not an object");
    if (auto t = model.find("type"); t != model.end() && !(t->is_string() && t->get<std::string>() == "BPE"))
        unsupported(origin, fmt::format("model.type {} is not supported (only BPE)", t->dump()));
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (auto it = model.find(key); it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()))
            unsupported(origin, fmt::format("model.{} is not supported", key));
    v->byte_fallback = opt_bool(origin, model, "byte_fallback", false, "model");
    v->fuse_unk = opt_bool(origin, model, "fuse_unk", false, "model");
    v->ignore_merges = opt_bool(origin, model, "ignore_merges", false, "model");

    const json& vocab = need(origin, model, "vocab", "model");
    if (!vocab.is_object()) bad(origin, "model.vocab is not an object");
    if (vocab.empty()) bad(origin, "model.vocab is empty");
    v->model_vocab.reserve(vocab.size());
    // ids are dense in practice; a far larger id is a broken file (and would allocate wildly)
    const auto added_json = root.find("added_tokens");
    const size_t id_limit = vocab.size() + (added_json != root.end() && added_json->is_array() ? added_json->size() : 0) + 1024;
    auto check_dense = [&](int32_t id, const std::string& where) {
        if (static_cast<size_t>(id) >= id_limit)
            bad(origin, fmt::format("{}: id {} is far beyond the number of tokens ({})", where, id, id_limit - 1024));
    };
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        int32_t id = need_id(origin, it.value(), fmt::format("model.vocab[\"{}\"]", it.key()));
        check_dense(id, fmt::format("model.vocab[\"{}\"]", it.key()));
        if (first_invalid(it.key()) != std::string_view::npos)
            bad(origin, fmt::format("model.vocab has a token that is not UTF-8 (id {})", id));
        if (static_cast<size_t>(id) < v->pieces.size() && !v->pieces[id].empty())
            bad(origin, fmt::format("model.vocab: id {} is used by both \"{}\" and \"{}\"", id, v->pieces[id], it.key()));
        if (it.key().empty()) bad(origin, fmt::format("model.vocab: id {} has an empty token", id));
        v->model_vocab.emplace(it.key(), id);
        set_piece(*v, id, it.key());
        if (is_single_char(it.key())) v->char_ids.emplace(decode_at(it.key(), 0, it.key().size()), id);
        if (int b = byte_token_value(it.key()); b >= 0) v->byte_id[b] = id;
    }
    v->all_tokens = v->model_vocab;

    if (auto it = model.find("unk_token"); it != model.end() && !it->is_null()) {
        if (!it->is_string()) bad(origin, "model.unk_token is not a string");
        auto u = v->model_vocab.find(it->get<std::string>());
        if (u == v->model_vocab.end()) bad(origin, fmt::format("model.unk_token \"{}\" is not in model.vocab", it->get<std::string>()));
        v->unk = u->second;
    }

    const json& merges = need(origin, model, "merges", "model");
    if (!merges.is_array()) bad(origin, "model.merges is not an array");
    v->merges.reserve(merges.size() * 2);
    for (size_t i = 0; i < merges.size(); ++i) {
        const json& m = merges[i];
        std::string a, b;
        if (m.is_string()) {
            const std::string s = m.get<std::string>();
            size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                bad(origin, fmt::format("model.merges[{}] \"{}\" is not two tokens separated by one space", i, s));
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            a = m[0].get<std::string>();
            b = m[1].get<std::string>();
        } else {
            bad(origin, fmt::format("model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", i));
        }
        auto ia = v->model_vocab.find(a), ib = v->model_vocab.find(b), iab = v->model_vocab.find(a + b);
        if (ia == v->model_vocab.end()) bad(origin, fmt::format("model.merges[{}]: \"{}\" is not in model.vocab", i, a));
        if (ib == v->model_vocab.end()) bad(origin, fmt::format("model.merges[{}]: \"{}\" is not in model.vocab", i, b));
        if (iab == v->model_vocab.end()) bad(origin, fmt::format("model.merges[{}]: \"{}\" is not in model.vocab", i, a + b));
        v->merges[pair_key(ia->second, ib->second)] = {static_cast<int32_t>(i), iab->second};
    }

    // added tokens
    if (auto at = root.find("added_tokens"); at != root.end() && !at->is_null()) {
        if (!at->is_array()) bad(origin, "added_tokens is not an array");
        for (size_t i = 0; i < at->size(); ++i) {
            const std::string w = fmt::format("added_tokens[{}]", i);
            const json& t = (*at)[i];
            AddedToken tok;
            tok.id = need_id(origin, need(origin, t, "id", w), w + ".id");
            check_dense(tok.id, w);
            tok.content = need_string(origin, t, "content", w);
            if (tok.content.empty()) bad(origin, w + ".content is empty");
            if (first_invalid(tok.content) != std::string_view::npos) bad(origin, w + ".content is not UTF-8");
            tok.special = opt_bool(origin, t, "special", false, w);
            tok.single_word = opt_bool(origin, t, "single_word", false, w);
            tok.lstrip = opt_bool(origin, t, "lstrip", false, w);
            tok.rstrip = opt_bool(origin, t, "rstrip", false, w);
            tok.normalized = opt_bool(origin, t, "normalized", !tok.special, w);
            if (static_cast<size_t>(tok.id) < v->pieces.size() && !v->pieces[tok.id].empty() &&
                v->pieces[tok.id] != tok.content)
                bad(origin, fmt::format("{}: id {} is \"{}\" in model.vocab but \"{}\" here", w, tok.id,
                                        v->pieces[tok.id], tok.content));
            set_piece(*v, tok.id, tok.content);
            v->special[tok.id] = tok.special ? 1 : 0;
            v->all_tokens[tok.content] = tok.id;
            (tok.normalized ? v->norm_added : v->raw_added).push_back(std::move(tok));
        }
    }

    parse_normalizer(origin, root.value("normalizer", json()), "normalizer", v->normalizer);
    parse_pre_tokenizer(origin, root.value("pre_tokenizer", json()), "pre_tokenizer", v->pre_tokenizer);
    parse_post_processor(origin, root.value("post_processor", json()), "post_processor", *v);
    if (auto d = root.find("decoder"); d != root.end() && !d->is_null()) {
        parse_decoder(origin, *d, "decoder", v->decoder);
        v->has_decoder = true;
        for (const auto& s : v->decoder) {
            if (s.kind == DecStep::byte_fallback) v->decoder_byte_fallback = true;
            if (s.kind == DecStep::strip && (s.start > 1 || s.stop > 0 || s.a == "\x01")) v->window_decode_ok = false;
            if (s.kind == DecStep::replace && s.a.find('\x01') != std::string::npos) v->window_decode_ok = false;
        }
        v->eager_ok = v->window_decode_ok && byte_runs_pass_through(v->decoder);
    }
    for (auto& t : v->norm_added) {
        t.pattern = v->normalize(t.content);
        if (t.pattern.empty()) t.pattern = t.content;
    }
    for (auto& t : v->raw_added) t.pattern = t.content;
    for (const auto& t : v->raw_added) v->raw_first[static_cast<unsigned char>(t.pattern[0])] = true;
    for (const auto& t : v->norm_added) v->norm_first[static_cast<unsigned char>(t.pattern[0])] = true;
    for (auto* list : {&v->raw_added, &v->norm_added})  // longest first: leftmost-longest matching
        std::stable_sort(list->begin(), list->end(),
                         [](const AddedToken& x, const AddedToken& y) { return x.pattern.size() > y.pattern.size(); });
    for (int32_t id : v->post_prefix)
        if (static_cast<size_t>(id) >= v->pieces.size() || v->pieces[id].empty())
            bad(origin, fmt::format("post_processor: id {} is not a token", id));
    for (int32_t id : v->post_suffix)
        if (static_cast<size_t>(id) >= v->pieces.size() || v->pieces[id].empty())
            bad(origin, fmt::format("post_processor: id {} is not a token", id));

    // BOS/EOS: the template's leading special token, else the conventional names.
    if (!v->post_prefix.empty()) v->bos = v->post_prefix.front();
    else if (auto it = v->all_tokens.find("<s>"); it != v->all_tokens.end()) v->bos = it->second;
    if (auto it = v->all_tokens.find("</s>"); it != v->all_tokens.end()) v->eos = it->second;

    // A word may be cut before every "▁" that follows another character when no merged token has
    // "▁" after a different character: then no merge can cross such a cut and BPE per piece gives
    // the same ids as BPE over the whole word (much faster when pre_tokenizer.split is false).
    const std::string meta = "\xE2\x96\x81";
    v->split_at_meta = true;
    for (const auto& [key, val] : v->merges) {
        const std::string& merged = v->pieces[val.second];
        for (size_t p = merged.find(meta); p != std::string::npos; p = merged.find(meta, p + 1)) {
            if (p == 0) continue;
            if (p < meta.size() || merged.compare(p - meta.size(), meta.size(), meta) != 0) {
                v->split_at_meta = false;
                break;
            }
        }
        if (!v->split_at_meta) break;
    }
    return Vocab(std::move(v));
}

namespace {

// transformers 5 `LlamaTokenizer`: the file's vocab/merges/added tokens with a fixed pipeline.
void apply_llama_tokenizer_class(Vocab::Impl& v, const json& cfg) {
    auto flag = [&](const char* key) -> std::optional<bool> {
        auto it = cfg.find(key);
        if (it == cfg.end() || !it->is_boolean()) return std::nullopt;
        return it->get<bool>();
    };
    const bool add_prefix_space = flag("add_prefix_space").value_or(true);
    const bool legacy = flag("legacy").value_or(false);
    PreStep meta{PreStep::metaspace};
    meta.replacement = "\xE2\x96\x81";
    meta.scheme = !add_prefix_space ? PrependScheme::never : legacy ? PrependScheme::always : PrependScheme::first;
    meta.split = false;
    v.normalizer.clear();
    v.pre_tokenizer.assign(1, meta);
    for (auto& t : v.norm_added) t.pattern = t.content;
    v.norm_first.fill(false);
    for (const auto& t : v.norm_added) v.norm_first[static_cast<unsigned char>(t.pattern[0])] = true;
    v.decoder.clear();
    v.decoder.push_back({DecStep::replace, meta.replacement, " "});
    v.decoder.push_back({DecStep::byte_fallback});
    v.decoder.push_back({DecStep::fuse});
    if (add_prefix_space) {
        DecStep strip{DecStep::strip};
        strip.a = " ";
        strip.start = 1;
        v.decoder.push_back(strip);
    }
    v.has_decoder = true;
    v.decoder_byte_fallback = true;
    v.window_decode_ok = true;
    v.eager_ok = true;
    const auto add_bos = flag("add_bos_token"), add_eos = flag("add_eos_token");
    if (add_bos || add_eos) {
        v.post_prefix.clear();
        v.post_suffix.clear();
        if (add_bos.value_or(true) && v.bos >= 0) v.post_prefix.push_back(static_cast<int32_t>(v.bos));
        if (add_eos.value_or(false) && v.eos >= 0) v.post_suffix.push_back(static_cast<int32_t>(v.eos));
        v.has_post = true;
    }
}

}  // namespace

Vocab Vocab::load(const std::filesystem::path& path, const VocabLoadOptions& options) {
    std::filesystem::path file = path;
    std::error_code ec;
    const bool is_dir = std::filesystem::is_directory(path, ec);
    if (is_dir) file = path / "tokenizer.json";
    if (!std::filesystem::exists(file, ec))
        throw Error(Errc::not_found, fmt::format("{}: no such file", file.string()));
    Vocab vocab = from_json_text(read_file(file), file.string());
    if (!is_dir) return vocab;
    const auto cfg_path = path / "tokenizer_config.json";
    if (!std::filesystem::exists(cfg_path, ec)) return vocab;
    json cfg;
    try {
        cfg = json::parse(read_file(cfg_path));
    } catch (const json::exception& e) {
        bad(cfg_path.string(), fmt::format("not valid JSON: {}", e.what()));
    }
    if (!cfg.is_object()) bad(cfg_path.string(), "the top level is not an object");
    auto& impl = const_cast<Impl&>(*vocab.impl_);  // sole owner until returned
    if (auto bos = config_token(cfg, "bos_token"))
        if (auto id = vocab.token_to_id(*bos)) impl.bos = *id;
    if (auto eos = config_token(cfg, "eos_token"))
        if (auto id = vocab.token_to_id(*eos)) impl.eos = *id;
    if (auto it = cfg.find("clean_up_tokenization_spaces"); it != cfg.end() && it->is_boolean())
        impl.cleanup_spaces = it->get<bool>();
    std::string cls;
    if (auto it = cfg.find("tokenizer_class"); it != cfg.end() && it->is_string()) cls = it->get<std::string>();
    if (options.follow_tokenizer_class && (cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast"))
        apply_llama_tokenizer_class(impl, cfg);
    return vocab;
}

// ---- encoding ----------------------------------------------------------------------------------

namespace {

struct Match {
    size_t start, stop;
    int32_t id;
};

bool is_word_char(char32_t c) {
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= 0x80 && !is_unicode_space(c));
}

char32_t last_char(std::string_view s) {
    size_t i = s.size();
    while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i;
    if (i == 0) i = 1;
    --i;
    return decode_at(s, i, s.size() - i);
}

// Leftmost-longest added-token matches over `s`, with lstrip/rstrip/single_word handling.
std::vector<Match> find_added(std::string_view s, const std::vector<AddedToken>& tokens,
                              const std::array<bool, 256>& first) {
    std::vector<Match> out;
    if (tokens.empty()) return out;
    size_t offset = 0;  // end of the previous match
    size_t pos = 0;
    while (pos < s.size()) {
        const AddedToken* hit = nullptr;
        size_t at = pos;
        for (; at < s.size() && !hit; ++at) {
            if (!first[static_cast<unsigned char>(s[at])]) continue;
            for (const auto& t : tokens)  // sorted longest first
                if (s.compare(at, t.pattern.size(), t.pattern) == 0) {
                    hit = &t;
                    break;
                }
            if (hit) break;
        }
        if (!hit) break;
        size_t start = at, stop = at + hit->pattern.size();
        pos = stop;
        if (hit->single_word) {
            bool start_ok = start == 0 || !is_word_char(last_char(s.substr(0, start)));
            bool stop_ok = stop == s.size() || !is_word_char(decode_at(s, stop, valid_len(s, stop)));
            if (!start_ok || !stop_ok) continue;
        }
        if (hit->lstrip) {
            size_t ns = start;
            while (ns > offset) {
                size_t k = ns - 1;
                while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
                if (!is_unicode_space(decode_at(s, k, ns - k))) break;
                ns = k;
            }
            start = std::max(ns, offset);
        }
        if (hit->rstrip) {
            while (stop < s.size()) {
                size_t n = valid_len(s, stop);
                if (!is_unicode_space(decode_at(s, stop, n))) break;
                stop += n;
            }
            pos = stop;
        }
        out.push_back({start, stop, hit->id});
        offset = stop;
    }
    return out;
}

}  // namespace

std::string Vocab::Impl::normalize(std::string_view text) const {
    std::string s(text);
    for (const auto& step : normalizer) {
        if (step.kind == NormStep::prepend) {
            if (!s.empty()) s.insert(0, step.a);
        } else {
            replace_all(s, step.a, step.b);
        }
    }
    return s;
}

void Vocab::Impl::encode_text(std::string_view text, bool at_origin, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    if (normalizer.empty() && norm_added.empty()) return encode_normalized(text, at_origin, out);
    const std::string norm = normalize(text);
    size_t prev = 0;
    for (const Match& m : find_added(norm, norm_added, norm_first)) {
        if (m.start > prev) encode_normalized(std::string_view(norm).substr(prev, m.start - prev), at_origin && prev == 0, out);
        out.push_back(m.id);
        prev = m.stop;
    }
    if (prev < norm.size()) encode_normalized(std::string_view(norm).substr(prev), at_origin && prev == 0, out);
}

void Vocab::Impl::encode_normalized(std::string_view text, bool at_origin, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    struct Piece {
        std::string text;
        bool at_origin;
    };
    std::vector<Piece> pieces{{std::string(text), at_origin}};
    for (const auto& step : pre_tokenizer) {
        std::vector<Piece> next;
        for (auto& p : pieces) {
            if (step.kind == PreStep::metaspace) {
                replace_all(p.text, " ", step.replacement);
                const bool starts = p.text.compare(0, step.replacement.size(), step.replacement) == 0;
                if (!starts && (step.scheme == PrependScheme::always ||
                                (step.scheme == PrependScheme::first && p.at_origin)))
                    p.text.insert(0, step.replacement);
                if (!step.split) {
                    next.push_back(std::move(p));
                    continue;
                }
                size_t begin = 0;
                for (size_t f = p.text.find(step.replacement, 1); f != std::string::npos;
                     f = p.text.find(step.replacement, f + step.replacement.size())) {
                    next.push_back({p.text.substr(begin, f - begin), p.at_origin && begin == 0});
                    begin = f;
                }
                next.push_back({p.text.substr(begin), p.at_origin && begin == 0});
            } else {  // digits
                size_t begin = 0;
                const std::string& s = p.text;
                auto digit = [&](size_t i) { return s[i] >= '0' && s[i] <= '9'; };
                for (size_t i = 0; i < s.size(); ++i) {
                    bool cut = i > 0 && (digit(i) != digit(i - 1) || (step.individual_digits && digit(i)));
                    if (cut) {
                        next.push_back({s.substr(begin, i - begin), p.at_origin && begin == 0});
                        begin = i;
                    }
                }
                next.push_back({s.substr(begin), p.at_origin && begin == 0});
            }
        }
        pieces.swap(next);
    }
    for (const auto& p : pieces)
        if (!p.text.empty()) bpe_word(p.text, out);
}

void Vocab::Impl::bpe_word(std::string_view word, std::vector<int32_t>& out) const {
    if (!split_at_meta) return bpe_cached(word, out);
    static constexpr std::string_view meta = "\xE2\x96\x81";
    size_t begin = 0;
    for (size_t f = word.find(meta, 1); f != std::string_view::npos; f = word.find(meta, f + meta.size())) {
        if (f >= meta.size() && word.compare(f - meta.size(), meta.size(), meta) == 0) continue;  // inside a ▁ run
        bpe_cached(word.substr(begin, f - begin), out);
        begin = f;
    }
    bpe_cached(word.substr(begin), out);
}

void Vocab::Impl::bpe_cached(std::string_view word, std::vector<int32_t>& out) const {
    if (word.empty()) return;
    if (word.size() > kMaxCachedWord) return bpe_compute(word, out);
    const std::string key(word);
    {
        std::lock_guard<std::mutex> lock(cache_mutex);
        auto it = cache.find(key);
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids;
    bpe_compute(word, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kMaxCacheEntries) cache.clear();
    cache.emplace(key, std::move(ids));
}

void Vocab::Impl::bpe_compute(std::string_view word, std::vector<int32_t>& out) const {
    if (ignore_merges) {
        if (auto it = model_vocab.find(std::string(word)); it != model_vocab.end()) {
            out.push_back(it->second);
            return;
        }
    }
    struct Symbol {
        int32_t id;
        int32_t prev, next;
        bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(word.size());
    auto add = [&](int32_t id) {
        int32_t n = static_cast<int32_t>(sym.size());
        if (n > 0) sym.back().next = n;
        sym.push_back({id, n - 1, -1, true});
    };
    int32_t pending_unk = -1;  // fused unknown run
    for (size_t i = 0; i < word.size();) {
        size_t n = valid_len(word, i);
        if (n == 0) n = 1;
        auto cid = char_ids.find(decode_at(word, i, n));
        if (cid != char_ids.end()) {
            if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
            add(cid->second);
        } else {
            bool all_bytes = byte_fallback;
            for (size_t k = 0; k < n && all_bytes; ++k)
                all_bytes = byte_id[static_cast<unsigned char>(word[i + k])] >= 0;
            if (all_bytes) {
                // as HF: a pending unk is not flushed before byte tokens (it follows them)
                for (size_t k = 0; k < n; ++k) add(byte_id[static_cast<unsigned char>(word[i + k])]);
            } else if (unk >= 0) {
                if (pending_unk >= 0 && !fuse_unk) add(pending_unk);
                pending_unk = unk;
            }
            // no unk token: the character is dropped, as in HF
        }
        i += n;
    }
    if (pending_unk >= 0) add(pending_unk);

    struct Cand {
        int32_t rank, pos, new_id;
    };
    auto lower = [](const Cand& x, const Cand& y) { return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos; };
    std::priority_queue<Cand, std::vector<Cand>, decltype(lower)> queue(lower);
    auto lookup = [&](int32_t a, int32_t b) -> const std::pair<int32_t, int32_t>* {
        auto it = merges.find(pair_key(a, b));
        return it == merges.end() ? nullptr : &it->second;
    };
    for (size_t i = 0; i + 1 < sym.size(); ++i)
        if (auto m = lookup(sym[i].id, sym[i + 1].id)) queue.push({m->first, static_cast<int32_t>(i), m->second});
    while (!queue.empty()) {
        Cand top = queue.top();
        queue.pop();
        Symbol& left = sym[top.pos];
        if (!left.alive || left.next < 0) continue;
        Symbol& right = sym[left.next];
        auto m = lookup(left.id, right.id);
        if (!m || m->second != top.new_id) continue;
        left.id = top.new_id;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) sym[right.next].prev = top.pos;
        if (left.prev >= 0)
            if (auto pm = lookup(sym[left.prev].id, left.id)) queue.push({pm->first, left.prev, pm->second});
        if (left.next >= 0)
            if (auto nm = lookup(left.id, sym[left.next].id)) queue.push({nm->first, top.pos, nm->second});
    }
    for (const auto& s : sym)
        if (s.alive) out.push_back(s.id);
}

std::vector<int64_t> Vocab::encode(std::string_view text, bool add_bos) const {
    if (size_t bad_at = first_invalid(text); bad_at != std::string_view::npos)
        throw Error(Errc::invalid_argument, fmt::format("text is not valid UTF-8 (byte {})", bad_at));
    const Impl& v = *impl_;
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 2 + 4);
    if (add_bos) {
        if (v.has_post) ids.insert(ids.end(), v.post_prefix.begin(), v.post_prefix.end());
        else if (v.bos >= 0) ids.push_back(static_cast<int32_t>(v.bos));
    }
    size_t prev = 0;
    for (const Match& m : find_added(text, v.raw_added, v.raw_first)) {
        if (m.start > prev) v.encode_text(text.substr(prev, m.start - prev), prev == 0, ids);
        ids.push_back(m.id);
        prev = m.stop;
    }
    if (prev < text.size()) v.encode_text(text.substr(prev), prev == 0, ids);
    if (add_bos && v.has_post) ids.insert(ids.end(), v.post_suffix.begin(), v.post_suffix.end());
    return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<std::string> Vocab::tokenize(std::string_view text, bool add_bos) const {
    std::vector<std::string> out;
    for (int64_t id : encode(text, add_bos)) out.push_back(id_to_token(id));
    return out;
}

// ---- decoding ----------------------------------------------------------------------------------

std::vector<std::string> Vocab::Impl::decode_chain(std::vector<std::string> tokens) const {
    static const std::string kReplacementChar = "\xEF\xBF\xBD";
    for (const auto& step : decoder) {
        switch (step.kind) {
            case DecStep::replace:
                for (auto& t : tokens) replace_all(t, step.a, step.b);
                break;
            case DecStep::byte_fallback: {
                std::vector<std::string> next;
                next.reserve(tokens.size());
                std::string run;
                auto flush = [&] {
                    if (run.empty()) return;
                    if (first_invalid(run) == std::string::npos) {
                        next.push_back(run);
                    } else {
                        for (size_t i = 0; i < run.size(); ++i) next.push_back(kReplacementChar);
                    }
                    run.clear();
                };
                for (auto& t : tokens) {
                    if (int b = byte_token_value(t); b >= 0) {
                        run.push_back(static_cast<char>(b));
                    } else {
                        flush();
                        next.push_back(std::move(t));
                    }
                }
                flush();
                tokens.swap(next);
                break;
            }
            case DecStep::fuse: {
                std::string all;
                for (const auto& t : tokens) all += t;
                tokens.assign(1, std::move(all));
                break;
            }
            case DecStep::strip:
                for (auto& t : tokens) {
                    std::vector<std::string_view> chars = utf8_chars(t);
                    size_t begin = 0, end = chars.size();
                    for (size_t i = 0; i < step.start && i < chars.size() && chars[i] == step.a; ++i) begin = i + 1;
                    for (size_t i = 0; i < step.stop && i < chars.size() && chars[chars.size() - 1 - i] == step.a; ++i)
                        end = chars.size() - 1 - i;
                    std::string s;
                    for (size_t i = begin; i < end; ++i) s.append(chars[i]);
                    t.swap(s);
                }
                break;
            case DecStep::metaspace:
                for (size_t i = 0; i < tokens.size(); ++i)
                    replace_all(tokens[i], step.a, (i == 0 && step.strip_first) ? "" : " ");
                break;
        }
    }
    return tokens;
}

namespace {

// transformers' clean_up_tokenization: these replacements, in this order, over the whole text.
std::string clean_up_spaces(std::string s) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) replace_all(s, from, to);
    return s;
}

}  // namespace

std::vector<std::string> Vocab::Impl::surviving(const int64_t* ids, size_t count, bool skip_special) const {
    std::vector<std::string> tokens;
    tokens.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        const int64_t id = ids[i];
        if (id < 0 || static_cast<size_t>(id) >= pieces.size() || pieces[id].empty()) continue;
        if (skip_special && special[id]) continue;
        tokens.push_back(pieces[id]);
    }
    return tokens;
}

std::string Vocab::Impl::decode_tokens(std::vector<std::string> tokens, bool at_start) const {
    std::string out;
    if (!has_decoder) {  // HF joins the tokens with spaces
        for (size_t i = 0; i < tokens.size(); ++i) {
            if (i || !at_start) out += ' ';
            out += tokens[i];
        }
        return out;
    }
    // A continuation is decoded behind a sentinel token that no decoder step changes or strips,
    // so start-of-text rules (Strip, Metaspace's first token) do not apply to it again.
    static const std::string kSentinel = "\x01";
    if (!at_start) {
        if (tokens.empty()) return out;
        tokens.insert(tokens.begin(), kSentinel);
    }
    for (const auto& t : decode_chain(std::move(tokens))) out += t;
    if (!at_start) out.erase(0, kSentinel.size());
    return out;
}

std::string Vocab::decode(const int64_t* ids, size_t count, bool skip_special) const {
    std::string text = impl_->decode_tokens(impl_->surviving(ids, count, skip_special), true);
    return impl_->cleanup_spaces ? clean_up_spaces(std::move(text)) : text;
}

std::string Vocab::decode(const std::vector<int64_t>& ids, bool skip_special) const {
    return decode(ids.data(), ids.size(), skip_special);
}

// ---- lookups -----------------------------------------------------------------------------------

int64_t Vocab::size() const { return static_cast<int64_t>(impl_->pieces.size()); }

std::optional<int64_t> Vocab::token_to_id(std::string_view token) const {
    auto it = impl_->all_tokens.find(std::string(token));
    if (it == impl_->all_tokens.end()) return std::nullopt;
    return it->second;
}

const std::string& Vocab::id_to_token(int64_t id) const {
    static const std::string empty;
    if (id < 0 || id >= size()) return empty;
    return impl_->pieces[id];
}

bool Vocab::is_special(int64_t id) const { return id >= 0 && id < size() && impl_->special[id]; }
bool Vocab::is_byte_token(int64_t id) const { return id >= 0 && id < size() && impl_->byte_of[id] >= 0; }
int64_t Vocab::bos_id() const { return impl_->bos; }
int64_t Vocab::eos_id() const { return impl_->eos; }
int64_t Vocab::unk_id() const { return impl_->unk; }
size_t Vocab::merge_count() const { return impl_->merges.size(); }

// ---- streaming ---------------------------------------------------------------------------------

IncrementalDecoder::IncrementalDecoder(const Vocab& vocab, bool skip_special, bool eager)
    : vocab_(vocab), skip_special_(skip_special), eager_(eager) {}

std::string IncrementalDecoder::push(int64_t id) {
    ids_.push_back(id);
    const auto& v = vocab_.impl();
    // Tokens that decode to nothing, and byte tokens (their run may still turn into U+FFFD), wait.
    if (id < 0 || id >= vocab_.size() || v.pieces[id].empty()) return {};
    if (skip_special_ && v.special[id]) return {};
    if (v.decoder_byte_fallback && v.byte_of[id] >= 0) {
        if (!eager_ || !v.eager_ok || v.cleanup_spaces || !started_) return {};
        run_bytes_ += static_cast<char>(v.byte_of[id]);
        size_t end = run_emitted_;  // complete characters not yet out
        for (size_t n; end < run_bytes_.size() && (n = valid_len(run_bytes_, end)) > 0;) end += n;
        std::string out = run_bytes_.substr(run_emitted_, end - run_emitted_);
        run_emitted_ = end;
        return out;
    }
    return take(false);
}

std::string IncrementalDecoder::flush() { return take(true); }

std::string IncrementalDecoder::take(bool final) {
    const auto& v = vocab_.impl();
    std::string text;
    if (v.window_decode_ok) {  // decode only the tokens since the last output: O(1) per token
        auto tokens = v.surviving(ids_.data() + committed_, ids_.size() - committed_, skip_special_);
        const bool at_start = !started_;
        started_ = started_ || !tokens.empty();
        committed_ = ids_.size();
        text = v.decode_tokens(std::move(tokens), at_start);
        if (run_emitted_ > 0) {  // eager: part of the run is already out
            static const std::string kFFFD = "\xEF\xBF\xBD";
            if (text.compare(0, run_emitted_, run_bytes_, 0, run_emitted_) == 0) {
                text.erase(0, run_emitted_);
            } else {  // the run turned invalid: drop one U+FFFD per byte already out
                size_t drop = 0;
                for (size_t k = 0; k < run_emitted_ && text.compare(drop, kFFFD.size(), kFFFD) == 0; ++k)
                    drop += kFFFD.size();
                text.erase(0, drop);
            }
        }
        run_bytes_.clear();
        run_emitted_ = 0;
    } else {
        std::string all = v.decode_tokens(v.surviving(ids_.data(), ids_.size(), skip_special_), true);
        if (all.size() > emitted_) text = all.substr(emitted_);
        emitted_ = std::max(emitted_, all.size());
    }
    if (!v.cleanup_spaces) return text;
    // clean_up_tokenization_spaces: hold back the tail a pattern (" .", " n't", ...) could still
    // span; a cut after a byte that is in no pattern but as its last character is safe.
    pending_ += text;
    size_t cut = pending_.size();
    if (!final) {
        while (cut > 0) {
            const char c = pending_[cut - 1];
            if (c != ' ' && c != '\'' && c != 'n' && c != 'v' && c != 'r') break;
            --cut;
        }
    }
    std::string out = clean_up_spaces(pending_.substr(0, cut));
    pending_.erase(0, cut);
    return out;
}

void IncrementalDecoder::reset() {
    ids_.clear();
    run_bytes_.clear();
    run_emitted_ = 0;
    pending_.clear();
    committed_ = 0;
    emitted_ = 0;
    started_ = false;
}

}  // namespace troupe::llama
