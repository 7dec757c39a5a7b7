#include "ctc_vocab.hpp"

#include <troupe/json_file.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace troupe::w2v {
namespace {

// A special token in tokenizer_config.json is a string or an AddedToken object {"content": ...}.
std::string token_text(const nlohmann::json& j, const char* key, const std::string& fallback, const std::string& path) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
    throw Error(Errc::invalid_file, fmt::format("{}: '{}' is neither a string nor a token object", path, key));
}

}  // namespace

CtcVocab CtcVocab::load_dir(const std::string& dir) {
    const std::string vocab_path = dir + "/vocab.json", config_path = dir + "/tokenizer_config.json";
    nlohmann::json config = nlohmann::json::object();
    if (std::ifstream(config_path)) config = read_json_file(config_path);
    if (!config.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: not a JSON object", config_path));
    const std::string pad = token_text(config, "pad_token", "<pad>", config_path);
    const std::string delimiter = token_text(config, "word_delimiter_token", "|", config_path);

    nlohmann::json vocab = read_json_file(vocab_path);
    if (!vocab.is_object() || vocab.empty())
        throw Error(Errc::invalid_file, fmt::format("{}: expected a non-empty object of symbol -> id", vocab_path));
    if (vocab.begin()->is_object()) {  // multilingual: {lang: {symbol: id}}
        auto lang = config.find("target_lang");
        if (lang == config.end() || !lang->is_string() || !vocab.contains(lang->get<std::string>()))
            throw Error(Errc::invalid_file,
                        fmt::format("{}: nested (multilingual) vocabulary needs a target_lang in {} that it contains",
                                    vocab_path, config_path));
        vocab = vocab[lang->get<std::string>()];
    }
    std::vector<std::string> symbols(vocab.size());
    std::vector<bool> seen(vocab.size(), false);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it->is_number_integer())
            throw Error(Errc::invalid_file, fmt::format("{}: id of '{}' is not an integer", vocab_path, it.key()));
        const int64_t id = it->get<int64_t>();
        if (id < 0 || id >= int64_t(symbols.size()) || seen[size_t(id)])
            throw Error(Errc::invalid_file,
                        fmt::format("{}: ids must be 0..{} without gaps or duplicates ('{}' has {})", vocab_path,
                                    symbols.size() - 1, it.key(), id));
        seen[size_t(id)] = true;
        symbols[size_t(id)] = it.key();
    }
    CtcVocab v = from_symbols(std::move(symbols), pad, delimiter);
    if (config.contains("replace_word_delimiter_char") && config["replace_word_delimiter_char"].is_string())
        v.replace_char_ = config["replace_word_delimiter_char"].get<std::string>();
    return v;
}

CtcVocab CtcVocab::from_symbols(std::vector<std::string> symbols, const std::string& blank, const std::string& word_delimiter) {
    CtcVocab v;
    v.symbols_ = std::move(symbols);
    v.blank_id_ = -1;
    for (size_t i = 0; i < v.symbols_.size(); ++i) {
        if (v.symbols_[i] == blank && v.blank_id_ < 0) v.blank_id_ = int64_t(i);
        if (v.symbols_[i] == word_delimiter && v.delimiter_id_ < 0) v.delimiter_id_ = int64_t(i);
    }
    if (v.blank_id_ < 0)
        throw Error(Errc::invalid_file, fmt::format("CTC vocabulary has no blank/pad symbol '{}'", blank));
    return v;
}

const std::string& CtcVocab::symbol(int64_t id) const {
    if (id < 0 || id >= int64_t(symbols_.size()))
        throw Error(Errc::invalid_argument, fmt::format("CTC id {} is outside the vocabulary of {}", id, symbols_.size()));
    return symbols_[size_t(id)];
}

CtcDecoded CtcVocab::decode(const std::vector<int64_t>& frame_ids) const {
    CtcDecoded d;
    for (size_t i = 0; i < frame_ids.size(); ++i) {
        symbol(frame_ids[i]);  // range check
        if (i == 0 || frame_ids[i] != frame_ids[i - 1]) d.collapsed.push_back(frame_ids[i]);
    }
    for (int64_t id : d.collapsed) {
        if (id == blank_id_) continue;
        d.without_blank.push_back(id);
        d.text += id == delimiter_id_ ? replace_char_ : symbols_[size_t(id)];
    }
    const char* space = " \t\n\r\f\v";  // Python str.strip()
    const size_t begin = d.text.find_first_not_of(space);
    if (begin != std::string::npos) d.text_stripped = d.text.substr(begin, d.text.find_last_not_of(space) - begin + 1);
    return d;
}

}  // namespace troupe::w2v
