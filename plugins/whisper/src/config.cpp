#include "config.hpp"

#include <troupe/json_file.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::whisper {
namespace {

int64_t get_int(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& path, bool required) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) throw Error(Errc::invalid_file, fmt::format("{}: missing '{}'", path, key));
        return fallback;
    }
    if (!it->is_number_integer()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' is not an integer", path, key));
    return it->get<int64_t>();
}

std::vector<int64_t> get_ids(const nlohmann::json& j, const char* key, const std::string& path) {
    std::vector<int64_t> out;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' is not a list", path, key));
    for (const auto& v : *it) {
        if (!v.is_number_integer()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' holds a non-integer", path, key));
        out.push_back(v.get<int64_t>());
    }
    return out;
}

/// eos_token_id may be an integer or a list (the first is the end of text).
int64_t get_eos(const nlohmann::json& j, int64_t fallback) {
    auto it = j.find("eos_token_id");
    if (it == j.end() || it->is_null()) return fallback;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int64_t>();
    return fallback;
}

}  // namespace

ModelConfig ModelConfig::read(const std::string& path) {
    const nlohmann::json j = read_json_file(path);
    ModelConfig c;
    c.d_model = get_int(j, "d_model", 0, path, true);
    c.encoder_layers = get_int(j, "encoder_layers", 0, path, true);
    c.decoder_layers = get_int(j, "decoder_layers", 0, path, true);
    c.encoder_heads = get_int(j, "encoder_attention_heads", 0, path, true);
    c.decoder_heads = get_int(j, "decoder_attention_heads", 0, path, true);
    c.encoder_ffn = get_int(j, "encoder_ffn_dim", 0, path, true);
    c.decoder_ffn = get_int(j, "decoder_ffn_dim", 0, path, true);
    c.num_mel_bins = get_int(j, "num_mel_bins", 80, path, false);
    c.vocab_size = get_int(j, "vocab_size", 0, path, true);
    c.max_source_positions = get_int(j, "max_source_positions", 1500, path, false);
    c.max_target_positions = get_int(j, "max_target_positions", 448, path, false);
    c.activation = j.value("activation_function", std::string("gelu"));
    c.scale_embedding = j.value("scale_embedding", false);
    c.tie_word_embeddings = j.value("tie_word_embeddings", true);
    for (int64_t v : {c.d_model, c.encoder_layers, c.decoder_layers, c.encoder_heads, c.decoder_heads, c.encoder_ffn,
                      c.decoder_ffn, c.num_mel_bins, c.vocab_size, c.max_source_positions, c.max_target_positions})
        if (v <= 0) throw Error(Errc::invalid_file, fmt::format("{}: a model dimension is not positive", path));
    if (c.d_model % c.encoder_heads != 0 || c.d_model % c.decoder_heads != 0)
        throw Error(Errc::invalid_file, fmt::format("{}: d_model {} is not divisible by the attention heads", path, c.d_model));
    if (c.activation != "gelu")
        throw Error(Errc::unsupported, fmt::format("{}: activation_function '{}' is not supported (gelu only)", path, c.activation));
    return c;
}

GenerationSettings GenerationSettings::read(const std::string& path, const std::string& config_json) {
    const nlohmann::json cfg = read_json_file(config_json);
    const nlohmann::json j = read_json_file(path);
    GenerationSettings g;
    g.decoder_start_token_id = get_int(j, "decoder_start_token_id",
                                       get_int(cfg, "decoder_start_token_id", -1, config_json, false), path, false);
    g.eos_token_id = get_eos(j, get_eos(cfg, -1));
    if (g.decoder_start_token_id < 0 || g.eos_token_id < 0)
        throw Error(Errc::invalid_file, fmt::format("{}: no decoder_start_token_id / eos_token_id (nor in {})", path, config_json));
    g.no_timestamps_token_id = get_int(j, "no_timestamps_token_id", -1, path, false);
    g.suppress_tokens = j.contains("suppress_tokens") ? get_ids(j, "suppress_tokens", path) : get_ids(cfg, "suppress_tokens", config_json);
    g.begin_suppress_tokens = j.contains("begin_suppress_tokens") ? get_ids(j, "begin_suppress_tokens", path)
                                                                  : get_ids(cfg, "begin_suppress_tokens", config_json);
    for (const char* key : {"lang_to_id", "task_to_id"}) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) continue;
        if (!it->is_object()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' is not an object", path, key));
        for (auto e = it->begin(); e != it->end(); ++e) {
            if (!e.value().is_number_integer())
                throw Error(Errc::invalid_file, fmt::format("{}: '{}' maps '{}' to a non-integer", path, key, e.key()));
            (std::string(key) == "lang_to_id" ? g.lang_to_id : g.task_to_id)[e.key()] = e.value().get<int64_t>();
        }
    }
    g.is_multilingual = j.value("is_multilingual", !g.lang_to_id.empty());
    g.max_length = get_int(j, "max_length", 448, path, false);
    return g;
}

std::vector<int64_t> GenerationSettings::prompt(const std::string& language, const std::string& task) const {
    std::vector<int64_t> p{decoder_start_token_id};
    if (is_multilingual) {
        if (!language.empty()) {
            const std::string token = language.rfind("<|", 0) == 0 ? language : "<|" + language + "|>";
            auto it = lang_to_id.find(token);
            if (it == lang_to_id.end())
                throw Error(Errc::invalid_argument, fmt::format("whisper: language '{}' is not in generation_config.json's lang_to_id", language));
            p.push_back(it->second);
        }
        auto t = task_to_id.find(task.empty() ? "transcribe" : task);
        if (t == task_to_id.end())
            throw Error(Errc::invalid_argument, fmt::format("whisper: task '{}' is not in generation_config.json's task_to_id", task));
        p.push_back(t->second);
    }
    if (no_timestamps_token_id >= 0) p.push_back(no_timestamps_token_id);
    return p;
}

FrontEndConfig FrontEndConfig::read(const std::string& path) {
    const nlohmann::json j = read_json_file(path);
    FrontEndConfig f;
    f.feature_size = get_int(j, "feature_size", 80, path, false);
    f.sampling_rate = get_int(j, "sampling_rate", 16000, path, false);
    f.hop_length = get_int(j, "hop_length", 160, path, false);
    f.n_fft = get_int(j, "n_fft", 400, path, false);
    f.chunk_length = get_int(j, "chunk_length", 30, path, false);
    f.n_samples = get_int(j, "n_samples", f.chunk_length * f.sampling_rate, path, false);
    f.nb_max_frames = get_int(j, "nb_max_frames", f.n_samples / f.hop_length, path, false);
    if (j.contains("dither") && j["dither"].is_number()) f.dither = j["dither"].get<double>();
    if (f.feature_size <= 0 || f.sampling_rate <= 0 || f.hop_length <= 0 || f.n_fft <= 0 || f.n_samples <= 0)
        throw Error(Errc::invalid_file, fmt::format("{}: a front-end size is not positive", path));
    return f;
}

}  // namespace troupe::whisper
