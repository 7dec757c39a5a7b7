#include "s1/decode_graph.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/cuda_graph.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include <algorithm>
#include <mutex>

namespace troupe::sovits::s1 {

DecodeGraph::DecodeGraph(Text2SemanticDecoderImpl& model, int64_t capacity, bool use_graph, int64_t batch)
    : model_(model), capacity_(capacity), batch_(batch) {
    torch::NoGradGuard no_grad;
    // Ordinary tensors even when built under InferenceMode: a pooled graph may serve callers in
    // either mode, and inference tensors cannot be updated in place outside it.
    c10::InferenceMode normal_tensors(false);
    if (capacity <= 0) throw Error(Errc::invalid_argument, "S1 decode graph: capacity must be positive");
    if (batch <= 0) throw Error(Errc::invalid_argument, "S1 decode graph: batch must be positive");
    if (model.is_training()) throw Error(Errc::invalid_argument, "S1 decode graph: the model must be in eval mode");
    const S1Config& cfg = model.config();
    const at::Tensor p0 = model.parameters().front();
    cache_ = KVCache::allocate(size_t(cfg.n_layer), batch, capacity, cfg.hidden_dim, p0.options());
    const auto longs = at::TensorOptions().dtype(at::kLong).device(p0.device());
    token_ = at::zeros({batch, 1}, longs);
    audio_pos_ = at::zeros({1}, longs);
    cache_pos_ = at::zeros({1}, longs);
    key_index_ = at::arange(capacity, longs);
    if (batch > 1) key_pad_ = at::zeros({batch, capacity}, longs.dtype(at::kBool));
    logits_ = at::zeros({batch, cfg.vocab_size}, p0.options().dtype(at::kFloat));
    if (use_graph && CudaGraph::available(p0.device())) {
        graph_ = std::make_unique<CudaGraph>();
        graph_->capture([this] { run_step(capacity_); });  // warm-up steps write position 0 (token 0)
        graphed_ = true;
        high_water_ = 1;
    }
}

DecodeGraph::~DecodeGraph() = default;

int64_t DecodeGraph::round_capacity(int64_t need) { return (std::max<int64_t>(need, 1) + 255) / 256 * 256; }

// The static step over buffer positions [0, window): nothing here depends on host values, so with
// window = capacity it can be captured. Eager steps pass a window just past the position (rounded
// up, as capacities are), so that the CPU does not attend over the whole capacity.
void DecodeGraph::run_step(int64_t window) {
    KVCache view;
    if (window < capacity_)
        for (size_t i = 0; i < cache_.k.size(); ++i) {
            view.k.push_back(cache_.k[i].slice(1, 0, window));
            view.v.push_back(cache_.v[i].slice(1, 0, window));
        }
    KVCache& kv = window < capacity_ ? view : cache_;
    const at::Tensor keys = window < capacity_ ? key_index_.slice(0, 0, window) : key_index_;
    const at::Tensor x = model_.embed_audio_at(token_, audio_pos_);         // (B, 1, d)
    at::Tensor blocked = at::gt(keys, cache_pos_).unsqueeze(0);             // (1, window)
    if (batch_ > 1)  // per row: the keys after the position and the row's pad columns, (B, 1, window)
        blocked = at::logical_or(blocked, window < capacity_ ? key_pad_.slice(1, 0, window) : key_pad_).unsqueeze(1);
    const at::Tensor h = model_.transform_at(x, blocked, kv, cache_pos_);  // (B, 1, d)
    logits_.copy_(model_.predict(h.select(1, 0)));
}

at::Tensor DecodeGraph::prefill(const at::Tensor& xy, const at::Tensor& mask, const at::Tensor& key_pad) {
    torch::NoGradGuard no_grad;
    const int64_t L = xy.dim() == 3 ? xy.size(1) : 0;
    if (xy.dim() != 3 || xy.size(0) != batch_ || L == 0 || L > capacity_)
        throw Error(Errc::invalid_argument,
                    fmt::format("S1 decode graph: prefill of {} rows of {} positions for {} rows of capacity {}",
                                xy.dim() == 3 ? xy.size(0) : 0, L, batch_, capacity_));
    if (key_pad.defined() && (key_pad.dim() != 2 || key_pad.size(0) != batch_ || key_pad.size(1) != L))
        throw Error(Errc::invalid_argument, "S1 decode graph: the pad columns must be (batch, prefill length)");
    if (batch_ > 1) {  // in place: a captured step reads this buffer
        key_pad_.zero_();
        if (key_pad.defined()) key_pad_.slice(1, 0, L).copy_(key_pad);
    } else if (key_pad.defined() && key_pad.any().item<bool>()) {
        throw Error(Errc::invalid_argument, "S1 decode graph: a batch-1 graph has no pad columns");
    }
    // Positions after the prefill are masked until written; zero what an earlier decode left there
    // so that nothing non-finite can reach the (zero-weighted) attention sums.
    if (high_water_ > L)
        for (size_t i = 0; i < cache_.k.size(); ++i) {
            cache_.k[i].slice(1, L, high_water_).zero_();
            cache_.v[i].slice(1, L, high_water_).zero_();
        }
    const void* k0 = cache_.k.front().data_ptr();
    cache_.len = 0;
    const at::Tensor h = model_.transform(xy, mask, &cache_);
    if (cache_.k.front().data_ptr() != k0) throw Error(Errc::runtime, "S1 decode graph: the prefill regrew the cache");
    high_water_ = L;
    return h;
}

at::Tensor& DecodeGraph::step(const at::Tensor& token, int64_t audio_pos, int64_t cache_pos) {
    torch::NoGradGuard no_grad;
    if (cache_pos < 0 || cache_pos >= capacity_ || audio_pos < 0)
        throw Error(Errc::invalid_argument,
                    fmt::format("S1 decode graph: position {} outside capacity {}", cache_pos, capacity_));
    if (token.numel() != batch_)
        throw Error(Errc::invalid_argument, fmt::format("S1 decode graph: {} tokens for {} rows", token.numel(), batch_));
    token_.copy_(token.reshape({batch_, 1}));
    audio_pos_.fill_(audio_pos);
    cache_pos_.fill_(cache_pos);
    if (graphed_) graph_->replay();
    else run_step(std::min(capacity_, round_capacity(cache_pos + 1)));
    high_water_ = std::max(high_water_, cache_pos + 1);
    return logits_;
}

// ---------------------------------------------------------------------------------------------
// Pool

namespace {

struct Idle {
    std::weak_ptr<torch::nn::Module> owner;
    const Text2SemanticDecoderImpl* model;
    std::vector<const void*> fingerprint;  // parameter storage: a moved or reloaded model misses
    std::unique_ptr<DecodeGraph> graph;
    uint64_t last_use;
};

struct Pool {
    std::mutex mutex;
    std::vector<Idle> idle;
    uint64_t clock = 0;
};

Pool& pool() {
    static Pool* p = new Pool;  // never destroyed: graphs must not be torn down after CUDA at exit
    return *p;
}

constexpr size_t kMaxIdle = 4;

std::vector<const void*> fingerprint(Text2SemanticDecoderImpl& model) {
    std::vector<const void*> out;
    for (const auto& p : model.parameters()) out.push_back(p.data_ptr());
    return out;
}

}  // namespace

std::shared_ptr<DecodeGraph> DecodeGraph::acquire(Text2SemanticDecoderImpl& model, int64_t capacity, int64_t batch) {
    std::shared_ptr<torch::nn::Module> owner;
    try {
        owner = model.shared_from_this();
    } catch (const std::bad_weak_ptr&) {
        return std::make_shared<DecodeGraph>(model, capacity, true, batch);
    }
    std::weak_ptr<torch::nn::Module> weak = owner;
    owner.reset();
    auto fp = fingerprint(model);
    std::unique_ptr<DecodeGraph> graph;
    std::vector<std::unique_ptr<DecodeGraph>> dead;
    {
        Pool& p = pool();
        std::lock_guard<std::mutex> lock(p.mutex);
        for (auto it = p.idle.begin(); it != p.idle.end();) {
            if (it->owner.expired()) {
                dead.push_back(std::move(it->graph));
                it = p.idle.erase(it);
            } else if (!graph && it->model == &model && it->graph->capacity() == capacity &&
                       it->graph->batch() == batch && it->fingerprint == fp) {
                graph = std::move(it->graph);
                it = p.idle.erase(it);
            } else {
                ++it;
            }
        }
    }
    dead.clear();
    if (!graph) graph = std::make_unique<DecodeGraph>(model, capacity, true, batch);
    const Text2SemanticDecoderImpl* key = &model;
    return std::shared_ptr<DecodeGraph>(graph.release(), [weak, key, fp](DecodeGraph* g) {
        std::unique_ptr<DecodeGraph> own(g), evicted;
        Pool& p = pool();
        std::lock_guard<std::mutex> lock(p.mutex);
        if (weak.expired()) return;
        p.idle.push_back(Idle{weak, key, fp, std::move(own), ++p.clock});
        if (p.idle.size() > kMaxIdle) {
            auto lru = std::min_element(p.idle.begin(), p.idle.end(),
                                        [](const Idle& a, const Idle& b) { return a.last_use < b.last_use; });
            evicted = std::move(lru->graph);
            p.idle.erase(lru);
        }
    });
}

void DecodeGraph::release_pooled(const Text2SemanticDecoderImpl* model) {
    std::vector<std::unique_ptr<DecodeGraph>> freed;
    Pool& p = pool();
    std::lock_guard<std::mutex> lock(p.mutex);
    for (auto it = p.idle.begin(); it != p.idle.end();) {
        if (!model || it->model == model || it->owner.expired()) {
            freed.push_back(std::move(it->graph));
            it = p.idle.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace troupe::sovits::s1
