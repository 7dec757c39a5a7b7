#include "text_backend.hpp"

#include "generator.hpp"

#include <troupe/kit/params.hpp>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace troupe::llama {

namespace {

class VocabDecoder final : public TokenDecoder {
public:
    explicit VocabDecoder(const Vocab& v) : dec_(v) {}
    std::string push(int64_t id) override { return dec_.push(id); }
    std::string flush() override { return dec_.flush(); }

private:
    IncrementalDecoder dec_;
};

}  // namespace

LlamaTextBackend::LlamaTextBackend(const Params& params) {
    const kit::ParamReader p("eeve-lora", params);
    // A relative model.dir (the embedded default) is relative to the host's data directory.
    const std::string dir = p.path("model.dir", /*required=*/true);
    if (const int64_t threads = p.integer("threads", 0, 0, 4096); threads > 0) at::set_num_threads(int(threads));
    LoadOptions o;
    o.device = p.string("device", "cpu");
    o.dtype = p.string("dtype");
    o.quantize = p.string("quantize", "none");
    o.double_quant = p.boolean("nf4.double_quant", true);
    add_bos_ = p.boolean("add_bos", true);
    merge_ = p.boolean("adapter.merge", false);
    model_ = Model::load(dir, o);
    const std::string tokenizer = p.path("tokenizer").empty() ? dir : p.path("tokenizer");
    vocab_ = std::make_unique<Vocab>(Vocab::load(std::filesystem::path(tokenizer)));
    if (p.boolean("utf8_guard", true)) utf8_ = std::make_unique<Utf8Guard>(Utf8Guard::for_vocab(*vocab_));
    plugin_log(LogLevel::info, "eeve-lora", "loaded " + model_.describe());
}

std::string LlamaTextBackend::describe() const noexcept {
    try {
        return "eeve-lora " + model_.describe();
    } catch (...) {
        return "eeve-lora";
    }
}

Status LlamaTextBackend::load_adapter(const std::string& name, const std::string& dir) noexcept {
    return guard([&] {
        std::lock_guard<std::mutex> lock(mutex_);
        if (name.empty()) throw Error(Errc::invalid_argument, "adapter name must not be empty");
        auto it = adapters_.find(name);
        if (it != adapters_.end()) {
            if (it->second.dir == dir) return;
            throw Error(Errc::invalid_argument,
                        fmt::format("adapter \"{}\" is already loaded from {}", name, it->second.dir));
        }
        Loaded l;
        l.dir = dir;
        l.adapter = std::make_shared<Adapter>(Adapter::load(dir, model_));
        if (merge_) l.merged = std::make_shared<Model>(model_.merged(*l.adapter));
        adapters_.emplace(name, std::move(l));
        plugin_log(LogLevel::info, "eeve-lora", fmt::format("adapter \"{}\" loaded from {}", name, dir));
    });
}

Status LlamaTextBackend::generate(const TextRequest& request, TextResult& result, TokenSink sink,
                                  void* sink_user) noexcept {
    return guard([&] {
        const auto t0 = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mutex_);
        if (request.prompt.empty()) throw Error(Errc::invalid_argument, "generate: the prompt is empty");
        const Model* model = &model_;
        const Adapter* adapter = nullptr;
        if (!request.adapter.empty()) {
            auto it = adapters_.find(request.adapter);
            if (it == adapters_.end())
                throw Error(Errc::not_found, fmt::format("adapter \"{}\" is not loaded", request.adapter));
            if (it->second.merged)
                model = it->second.merged.get();
            else
                adapter = it->second.adapter.get();
        }
        const std::vector<int64_t> prompt = vocab_->encode(request.prompt, add_bos_);
        GenerateOptions o;
        o.sampling = request.sampling;
        o.stop_strings = request.stop_strings;
        o.utf8 = utf8_.get();
        if (model->device().is_cuda()) {  // one static-cache session (CUDA graph) per model and adapter
            const int64_t context = model->config().max_position_embeddings;
            const int64_t needed = std::min<int64_t>(
                static_cast<int64_t>(prompt.size()) + std::max<int64_t>(request.sampling.max_new_tokens, 1), context);
            std::unique_ptr<DecodeSession>& session = sessions_[{model, adapter}];
            if (!session || session->capacity() < needed)
                session = std::make_unique<DecodeSession>(*model, adapter, std::min<int64_t>((needed + 255) / 256 * 256, context));
            o.session = session.get();
        }
        VocabDecoder decoder(*vocab_);
        StreamFn stream;
        if (sink) stream = [&](const std::string& piece) { return sink(sink_user, piece); };
        Generation g = llama::generate(*model, prompt, adapter, o, &decoder, stream, [] { return plugin_cancel_requested(); });
        result.text = std::move(g.text);
        result.token_ids = std::move(g.ids);
        result.stop = g.stop;
        result.prompt_tokens = static_cast<int>(g.prompt_tokens);
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
}

const Adapter* LlamaTextBackend::find_adapter(const std::string& name) const {
    if (name.empty()) return nullptr;
    auto it = adapters_.find(name);
    if (it == adapters_.end()) throw Error(Errc::not_found, fmt::format("adapter \"{}\" is not loaded", name));
    return it->second.adapter.get();
}

Status LlamaTextBackend::generate_batch(const std::vector<TextRequest>& requests,
                                        std::vector<TextResult>& results) noexcept {
    if (merge_) {  // merged adapters are separate models: no shared batch
        results.assign(requests.size(), TextResult{});
        for (size_t i = 0; i < requests.size(); ++i) {
            Status s = generate(requests[i], results[i], nullptr, nullptr);
            if (!s.ok()) return s;
        }
        return Status();
    }
    return guard([&] {
        const auto t0 = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<BatchRow> rows(requests.size());
        std::vector<std::unique_ptr<VocabDecoder>> decoders;
        for (size_t i = 0; i < requests.size(); ++i) {
            const TextRequest& request = requests[i];
            if (request.prompt.empty())
                throw Error(Errc::invalid_argument, fmt::format("generate_batch: the prompt of request {} is empty", i));
            rows[i].adapter = find_adapter(request.adapter);
            rows[i].prompt = vocab_->encode(request.prompt, add_bos_);
            rows[i].options.sampling = request.sampling;
            rows[i].options.stop_strings = request.stop_strings;
            rows[i].options.utf8 = utf8_.get();
            decoders.push_back(std::make_unique<VocabDecoder>(*vocab_));
            rows[i].decoder = decoders.back().get();
        }
        std::vector<Generation> out = llama::generate_batch(model_, rows, [] { return plugin_cancel_requested(); });
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        results.assign(requests.size(), TextResult{});
        for (size_t i = 0; i < out.size(); ++i) {
            results[i].text = std::move(out[i].text);
            results[i].token_ids = std::move(out[i].ids);
            results[i].stop = out[i].stop;
            results[i].prompt_tokens = static_cast<int>(out[i].prompt_tokens);
            results[i].seconds = seconds;
        }
    });
}

}  // namespace troupe::llama
