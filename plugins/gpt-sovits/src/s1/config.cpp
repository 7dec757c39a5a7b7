#include "s1/config.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::sovits::s1 {
namespace {

template <class T>
void read(const nlohmann::json& obj, const char* key, T& out, const std::string& source, const char* section) {
    if (!obj.is_object()) return;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return;
    try {
        out = it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(Errc::invalid_file, fmt::format("{}: config {}.{} has the wrong type ({})", source, section, key,
                                                    it->type_name()));
    }
}

int64_t dim(const StateDict& s, const std::string& name, int64_t d, const std::string& source) {
    auto it = s.find(name);
    if (it == s.end()) throw Error(Errc::invalid_file, fmt::format("{}: missing S1 weight '{}'", source, name));
    if (it->second.dim() <= d)
        throw Error(Errc::invalid_file, fmt::format("{}: S1 weight '{}' has {} dims", source, name, it->second.dim()));
    return it->second.size(d);
}

}  // namespace

S1Config S1Config::from_json(const nlohmann::json& config, const std::string& source) {
    S1Config c;
    if (!config.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: S1 config is not a dict", source));
    const auto model = config.value("model", nlohmann::json::object());
    read(model, "vocab_size", c.vocab_size, source, "model");
    read(model, "phoneme_vocab_size", c.phoneme_vocab_size, source, "model");
    read(model, "embedding_dim", c.embedding_dim, source, "model");
    read(model, "hidden_dim", c.hidden_dim, source, "model");
    read(model, "head", c.n_head, source, "model");
    read(model, "n_layer", c.n_layer, source, "model");
    read(model, "EOS", c.eos, source, "model");
    read(model, "dropout", c.embedding_dropout, source, "model");
    read(config.value("data", nlohmann::json::object()), "max_sec", c.max_sec, source, "data");
    read(config.value("inference", nlohmann::json::object()), "top_k", c.top_k, source, "inference");
    if (c.eos != c.vocab_size - 1)
        throw Error(Errc::invalid_file, fmt::format("{}: S1 config EOS {} != vocab_size - 1 ({})", source, c.eos, c.vocab_size - 1));
    if (c.n_head <= 0 || c.hidden_dim <= 0 || c.hidden_dim % c.n_head != 0)
        throw Error(Errc::invalid_file, fmt::format("{}: S1 hidden_dim {} is not divisible by head {}", source, c.hidden_dim, c.n_head));
    if (c.embedding_dim != c.hidden_dim)
        throw Error(Errc::unsupported, fmt::format("{}: S1 embedding_dim {} != hidden_dim {} is not supported (upstream feeds the embedding straight into the layers)", source, c.embedding_dim, c.hidden_dim));
    return c;
}

void S1Config::resolve_from_weights(const StateDict& s, const std::string& source) {
    auto check = [&](const char* what, int64_t config_value, int64_t weight_value) {
        if (config_value != weight_value)
            throw Error(Errc::invalid_file, fmt::format("{}: S1 config {} = {} but the weights have {}", source, what,
                                                        config_value, weight_value));
    };
    check("phoneme_vocab_size", phoneme_vocab_size, dim(s, "ar_text_embedding.word_embeddings.weight", 0, source));
    check("embedding_dim", embedding_dim, dim(s, "ar_text_embedding.word_embeddings.weight", 1, source));
    check("vocab_size", vocab_size, dim(s, "ar_audio_embedding.word_embeddings.weight", 0, source));
    check("vocab_size (ar_predict_layer)", vocab_size, dim(s, "ar_predict_layer.weight", 0, source));
    check("hidden_dim", hidden_dim, dim(s, "ar_predict_layer.weight", 1, source));
    bert_dim = dim(s, "bert_proj.weight", 1, source);
    int64_t layers = 0;
    while (s.count(fmt::format("h.layers.{}.self_attn.in_proj_weight", layers))) ++layers;
    check("n_layer", n_layer, layers);
    if (layers > 0) {
        check("4 * hidden_dim (FFN width)", ffn_dim(), dim(s, "h.layers.0.linear1.weight", 0, source));
        check("3 * hidden_dim (packed QKV)", 3 * hidden_dim, dim(s, "h.layers.0.self_attn.in_proj_weight", 0, source));
    }
}

}  // namespace troupe::sovits::s1
