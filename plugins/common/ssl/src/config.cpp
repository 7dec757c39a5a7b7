#include <troupe/ssl/config.hpp>
#include <troupe/json_file.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace troupe::ssl {
namespace {

template <class T>
void get(const nlohmann::json& j, const char* key, T& out, const std::string& path) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;  // keep the transformers default
    try {
        out = it->get<T>();
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: key '{}' has the wrong type: {}", path, key, e.what()));
    }
}

}  // namespace

EncoderConfig EncoderConfig::read(const std::string& path) {
    const nlohmann::json j = read_json_file(path);
    if (!j.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: not a JSON object", path));
    EncoderConfig c;
    c.conv_dim = {512, 512, 512, 512, 512, 512, 512};
    c.conv_kernel = {10, 3, 3, 3, 3, 2, 2};
    c.conv_stride = {5, 2, 2, 2, 2, 2, 2};
    get(j, "model_type", c.model_type, path);
    get(j, "conv_dim", c.conv_dim, path);
    get(j, "conv_kernel", c.conv_kernel, path);
    get(j, "conv_stride", c.conv_stride, path);
    get(j, "conv_bias", c.conv_bias, path);
    get(j, "feat_extract_norm", c.feat_extract_norm, path);
    get(j, "feat_extract_activation", c.feat_extract_activation, path);
    get(j, "feat_proj_layer_norm", c.feat_proj_layer_norm, path);
    get(j, "hidden_size", c.hidden_size, path);
    get(j, "num_hidden_layers", c.num_hidden_layers, path);
    get(j, "num_attention_heads", c.num_attention_heads, path);
    get(j, "intermediate_size", c.intermediate_size, path);
    get(j, "hidden_act", c.hidden_act, path);
    get(j, "layer_norm_eps", c.layer_norm_eps, path);
    get(j, "num_conv_pos_embeddings", c.num_conv_pos_embeddings, path);
    get(j, "num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups, path);
    get(j, "conv_pos_batch_norm", c.conv_pos_batch_norm, path);
    get(j, "do_stable_layer_norm", c.do_stable_layer_norm, path);
    get(j, "vocab_size", c.vocab_size, path);
    get(j, "pad_token_id", c.pad_token_id, path);
    get(j, "num_buckets", c.num_buckets, path);
    get(j, "max_bucket_distance", c.max_bucket_distance, path);
    if (c.model_type != "hubert") c.feat_proj_layer_norm = true;  // only HuBERT has the switch
    bool add_adapter = false;
    get(j, "add_adapter", add_adapter, path);
    if (add_adapter) throw Error(Errc::unsupported, fmt::format("{}: add_adapter=true is not supported", path));
    if (j.contains("adapter_attn_dim") && !j["adapter_attn_dim"].is_null())
        throw Error(Errc::unsupported, fmt::format("{}: adapter_attn_dim (MMS adapters) is not supported", path));
    c.validate(path);
    return c;
}

void EncoderConfig::validate(const std::string& origin) const {
    auto bad = [&](const std::string& what) { throw Error(Errc::invalid_file, fmt::format("{}: {}", origin, what)); };
    if (model_type != "wav2vec2" && model_type != "hubert" && model_type != "wavlm")
        throw Error(Errc::unsupported,
                    fmt::format("{}: model_type '{}' is not supported (wav2vec2, hubert or wavlm)", origin, model_type));
    if (model_type == "wavlm" && (num_buckets < 4 || max_bucket_distance <= num_buckets / 4))
        bad(fmt::format("num_buckets {} / max_bucket_distance {} make no bucket table", num_buckets, max_bucket_distance));
    if (conv_dim.empty() || conv_dim.size() != conv_kernel.size() || conv_dim.size() != conv_stride.size())
        bad(fmt::format("conv_dim/conv_kernel/conv_stride must be non-empty and of equal length ({}, {}, {})",
                        conv_dim.size(), conv_kernel.size(), conv_stride.size()));
    for (size_t i = 0; i < conv_dim.size(); ++i)
        if (conv_dim[i] <= 0 || conv_kernel[i] <= 0 || conv_stride[i] <= 0) bad(fmt::format("conv layer {} has a non-positive size", i));
    if (feat_extract_norm != "group" && feat_extract_norm != "layer")
        bad(fmt::format("feat_extract_norm '{}' must be 'group' or 'layer'", feat_extract_norm));
    if (hidden_size <= 0 || num_hidden_layers < 0 || num_attention_heads <= 0 || intermediate_size <= 0)
        bad("hidden_size, num_hidden_layers, num_attention_heads and intermediate_size must be positive");
    if (hidden_size % num_attention_heads != 0)
        bad(fmt::format("hidden_size {} is not divisible by num_attention_heads {}", hidden_size, num_attention_heads));
    if (num_conv_pos_embeddings <= 0 || num_conv_pos_embedding_groups <= 0 ||
        hidden_size % num_conv_pos_embedding_groups != 0)
        bad(fmt::format("positional conv: kernel {} / groups {} do not fit hidden_size {}", num_conv_pos_embeddings,
                        num_conv_pos_embedding_groups, hidden_size));
    if (!(layer_norm_eps > 0)) bad("layer_norm_eps must be positive");
}

int64_t EncoderConfig::num_frames(int64_t samples) const {
    int64_t t = samples;
    for (size_t i = 0; i < conv_kernel.size(); ++i) {
        if (t < conv_kernel[i]) return 0;
        t = (t - conv_kernel[i]) / conv_stride[i] + 1;
    }
    return t;
}

int64_t EncoderConfig::min_samples() const {
    int64_t t = 1;
    for (size_t i = conv_kernel.size(); i-- > 0;) t = (t - 1) * conv_stride[i] + conv_kernel[i];
    return t;
}

FeatureExtractorConfig FeatureExtractorConfig::read(const std::string& path) {
    const nlohmann::json j = read_json_file(path);
    if (!j.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: not a JSON object", path));
    // processor_config.json nests the feature extractor.
    const nlohmann::json& fe = j.contains("feature_extractor") && j["feature_extractor"].is_object() ? j["feature_extractor"] : j;
    FeatureExtractorConfig c;
    get(fe, "do_normalize", c.do_normalize, path);
    get(fe, "sampling_rate", c.sampling_rate, path);
    get(fe, "padding_value", c.padding_value, path);
    if (c.sampling_rate <= 0) throw Error(Errc::invalid_file, fmt::format("{}: sampling_rate must be positive", path));
    return c;
}

FeatureExtractorConfig FeatureExtractorConfig::read_optional(const std::string& path) {
    std::ifstream probe(path);
    if (!probe) return {};
    return read(path);
}

}  // namespace troupe::ssl
