// Batch-1 prefill/decode throughput of troupe_llama on one device (GPU machine benchmark; the CPU
// one is `troupe bench lm`). Prints one JSON line.
//
// usage: llm_decode_bench BASE [ADAPTER] [--device cuda] [--dtype bfloat16] [--quantize none|nf4]
//                         [--graph 1|0] [--prompt-tokens 64] [--new-tokens 128]
// --graph 1 decodes through a DecodeSession (static KV cache, one CUDA graph replay per token);
// --graph 0 through the same session run eagerly.
#include "adapter.hpp"
#include "decode_session.hpp"
#include "generator.hpp"
#include "model.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>
#ifdef TROUPE_CUDA_GRAPHS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <chrono>
#include <iostream>
#include <memory>

namespace ll = troupe::llama;

int main(int argc, char** argv) try {
    std::string base, adapter_dir, device = "cuda", dtype = "bfloat16", quantize = "none";
    int prompt_tokens = 64, new_tokens = 128;
    bool graph = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--device") device = next();
        else if (a == "--dtype") dtype = next();
        else if (a == "--quantize") quantize = next();
        else if (a == "--prompt-tokens") prompt_tokens = std::stoi(next());
        else if (a == "--new-tokens") new_tokens = std::stoi(next());
        else if (a == "--graph") graph = next() != "0";
        else if (base.empty()) base = a;
        else adapter_dir = a;
    }
    if (base.empty()) throw std::runtime_error("usage: llm_decode_bench BASE [ADAPTER] [options]");
    auto now = [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
    ll::LoadOptions lo;
    lo.device = device;
    lo.dtype = dtype;
    lo.quantize = quantize;
    double t = now();
    const ll::Model model = ll::Model::load(base, lo);
    const double load_s = now() - t;
    std::unique_ptr<ll::Adapter> adapter;
    if (!adapter_dir.empty()) adapter = std::make_unique<ll::Adapter>(ll::Adapter::load(adapter_dir, model));
    std::vector<int64_t> prompt(prompt_tokens);
    for (int i = 0; i < prompt_tokens; ++i) prompt[i] = 3 + (int64_t(i) * 7919) % (model.config().vocab_size - 3);
    ll::GenerateOptions go;
    go.sampling.greedy = true;
    go.sampling.repetition_penalty = 1.0f;
    go.sampling.max_new_tokens = new_tokens;
    go.eos_ids = {-1};
    c10::InferenceMode guard;
    ll::DecodeSession session(model, adapter.get(), prompt_tokens + new_tokens, graph);
    go.session = &session;
    t = now();
    ll::generate(model, prompt, adapter.get(), [&] { auto w = go; w.sampling.max_new_tokens = 8; return w; }());
    const double warmup_s = now() - t;  // includes the graph capture
    double best_decode = 1e30, best_prefill = 1e30;
    size_t n = 0;
    for (int r = 0; r < 3; ++r) {
        const ll::Generation g = ll::generate(model, prompt, adapter.get(), go);
        best_prefill = std::min(best_prefill, g.prefill_seconds);
        best_decode = std::min(best_decode, g.decode_seconds / std::max<size_t>(g.ids.size() - 1, 1));
        n = g.ids.size();
    }
    // Bytes one decode step must read: every weight but the embedding table (one row of it).
    const auto& c = model.config();
    const double step_bytes = double(model.weight_bytes()) - double(c.vocab_size) * c.hidden_size * at::elementSize(model.dtype());
    double peak_gib = 0;
#ifdef TROUPE_CUDA_GRAPHS
    if (model.device().is_cuda())
        peak_gib = c10::cuda::CUDACachingAllocator::getDeviceStats(model.device().index() < 0 ? 0 : model.device().index())
                       .allocated_bytes[0].peak / double(1 << 30);
#endif
    nlohmann::json out = {{"impl", "troupe"},
                          {"model", model.describe()},
                          {"quantize", quantize},
                          {"graph", session.graphed()},
                          {"fused", session.fused()},
                          {"warmup_seconds", warmup_s},
                          {"adapter", !adapter_dir.empty()},
                          {"new_tokens", n},
                          {"load_seconds", load_s},
                          {"prefill_tokens_per_second", prompt_tokens / best_prefill},
                          {"decode_tokens_per_second", 1.0 / best_decode},
                          {"weight_gib", model.weight_bytes() / double(1 << 30)},
                          {"read_gb_per_token", step_bytes / 1e9},
                          {"effective_gb_per_second", step_bytes / 1e9 / best_decode},
                          {"peak_gpu_gib", peak_gib}};
    std::cout << out.dump() << std::endl;
    return 0;
} catch (const std::exception& e) {
    std::cerr << "llm_decode_bench: " << e.what() << "\n";
    return 1;
}
