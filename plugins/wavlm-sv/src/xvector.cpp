#include "xvector.hpp"

#include <troupe/json_file.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

namespace troupe::wavlm {

XVectorConfig XVectorConfig::read(const std::string& path) {
    const nlohmann::json j = read_json_file(path);
    XVectorConfig c;
    auto list = [&](const char* key, std::vector<int64_t>& out) {
        if (!j.contains(key)) return;
        if (!j[key].is_array()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' is not a list", path, key));
        out = j[key].get<std::vector<int64_t>>();
    };
    list("tdnn_dim", c.tdnn_dim);
    list("tdnn_kernel", c.tdnn_kernel);
    list("tdnn_dilation", c.tdnn_dilation);
    c.xvector_output_dim = j.value("xvector_output_dim", c.xvector_output_dim);
    c.use_weighted_layer_sum = j.value("use_weighted_layer_sum", false);
    if (c.tdnn_dim.empty() || c.tdnn_dim.size() != c.tdnn_kernel.size() || c.tdnn_dim.size() != c.tdnn_dilation.size())
        throw Error(Errc::invalid_file, fmt::format("{}: tdnn_dim/tdnn_kernel/tdnn_dilation must have one equal length", path));
    const std::string arch = j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()
                                 ? j["architectures"][0].get<std::string>() : "";
    if (!arch.empty() && arch.find("XVector") == std::string::npos)
        throw Error(Errc::unsupported, fmt::format("{}: architecture '{}' is not an x-vector model (WavLMForXVector)", path, arch));
    return c;
}

TdnnLayerImpl::TdnnLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t dilation)
    : in_(in), out_(out), kernel_(kernel), dilation_(dilation) {
    kernel_linear_ = register_module("kernel", std::make_shared<nn::LinearImpl>(in * kernel, out));
}

at::Tensor TdnnLayerImpl::forward(const at::Tensor& x) const {
    const at::Tensor w = kernel_linear_->weight().view({out_, kernel_, in_}).transpose(1, 2);  // [out, in, k]
    return at::relu(at::conv1d(x.transpose(1, 2), w, kernel_linear_->bias(), at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{dilation_}, 1).transpose(1, 2));
}

XVectorHeadImpl::XVectorHeadImpl(const XVectorConfig& c, int64_t hidden, int64_t num_hidden_states) : c_(c) {
    if (c.use_weighted_layer_sum)
        layer_weights_ = register_parameter("layer_weights", at::ones({num_hidden_states}) / double(num_hidden_states), false);
    projector_ = register_module("projector", std::make_shared<nn::LinearImpl>(hidden, c.tdnn_dim[0]));
    auto list = register_module("tdnn", std::make_shared<torch::nn::Module>());
    for (size_t i = 0; i < c.tdnn_dim.size(); ++i) {
        const int64_t in = i == 0 ? c.tdnn_dim[0] : c.tdnn_dim[i - 1];
        tdnn_.push_back(list->register_module(std::to_string(i),
                                              std::make_shared<TdnnLayerImpl>(in, c.tdnn_dim[i], c.tdnn_kernel[i], c.tdnn_dilation[i])));
    }
    feature_extractor_ = register_module("feature_extractor", std::make_shared<nn::LinearImpl>(2 * c.tdnn_dim.back(), c.xvector_output_dim));
    classifier_ = register_module("classifier", std::make_shared<nn::LinearImpl>(c.xvector_output_dim, c.xvector_output_dim));
}

XVectorOutput XVectorHeadImpl::forward(const std::vector<at::Tensor>& hidden_states, const at::Tensor& last, bool with_traces) const {
    XVectorOutput out;
    at::Tensor h = last;
    if (c_.use_weighted_layer_sum) {
        const at::Tensor w = at::softmax(layer_weights_, -1);
        h = (at::stack(hidden_states, 1) * w.view({-1, 1, 1})).sum(1);
    }
    if (with_traces) out.traces["weighted_sum"] = h;
    h = projector_->forward(h);
    if (with_traces) out.traces["projector"] = h;
    for (const auto& layer : tdnn_) h = layer->forward(h);
    if (with_traces) out.traces["tdnn"] = h;
    if (h.size(1) < 2)
        throw Error(Errc::invalid_argument, "wavlm-sv: audio too short for the x-vector statistics (fewer than 2 TDNN frames)");
    const at::Tensor stats = at::cat({h.mean(1), h.std(1, /*unbiased=*/true)}, -1);
    if (with_traces) out.traces["statistics"] = stats;
    out.embeddings = feature_extractor_->forward(stats);
    out.logits = classifier_->forward(out.embeddings);
    return out;
}

SpeakerVerifier::SpeakerVerifier(ssl::Encoder encoder, std::shared_ptr<XVectorHeadImpl> head)
    : encoder_(std::move(encoder)), head_(std::move(head)) {}

std::unique_ptr<SpeakerVerifier> SpeakerVerifier::load_dir(const std::string& dir, const ssl::LoadOptions& options) {
    if (!std::filesystem::is_directory(dir)) throw Error(Errc::not_found, fmt::format("wavlm-sv: model folder {} not found", dir));
    const std::string config_path = dir + "/config.json";
    if (!std::filesystem::exists(config_path)) throw Error(Errc::not_found, fmt::format("wavlm-sv: {} is missing", config_path));
    const ssl::EncoderConfig ec = ssl::EncoderConfig::read(config_path);
    const XVectorConfig xc = XVectorConfig::read(config_path);
    const ssl::FeatureExtractorConfig fc = ssl::FeatureExtractorConfig::read_optional(dir + "/preprocessor_config.json");
    const ssl::WeightSource weights = ssl::weights_from_dir(dir);
    ssl::Encoder encoder = ssl::Encoder::from_weights(ec, fc, weights, options);
    auto head = std::make_shared<XVectorHeadImpl>(xc, ec.hidden_size, ec.num_hidden_layers + 1);
    nn::load_weights(*head, weights, "", options.device, options.dtype);
    head->eval();
    return std::unique_ptr<SpeakerVerifier>(new SpeakerVerifier(std::move(encoder), std::move(head)));
}

XVectorOutput SpeakerVerifier::forward(const at::Tensor& input_values, bool with_traces) const {
    c10::NoGradGuard no_grad;
    // The hidden states are needed for the weighted sum, so the encoder always keeps them.
    ssl::EncoderOutput enc = encoder_.forward(input_values, /*with_traces=*/true);
    XVectorOutput out = head_->forward(enc.hidden_states, enc.last_hidden_state, with_traces);
    if (with_traces)
        for (size_t i = 0; i < enc.hidden_states.size(); ++i) out.traces[fmt::format("hidden_state{}", i)] = enc.hidden_states[i];
    return out;
}

std::vector<float> SpeakerVerifier::embed(const std::vector<float>& samples) const {
    const at::Tensor wave = at::from_blob(const_cast<float*>(samples.data()), {int64_t(samples.size())}, at::kFloat);
    const at::Tensor e = forward(prepare(wave)).embeddings[0].to(at::kCPU, at::kFloat).contiguous();
    return std::vector<float>(e.data_ptr<float>(), e.data_ptr<float>() + e.numel());
}

double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) throw Error(Errc::invalid_argument, "cosine similarity of embeddings of different sizes");
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) { ab += double(a[i]) * b[i]; aa += double(a[i]) * a[i]; bb += double(b[i]) * b[i]; }
    return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

}  // namespace troupe::wavlm
