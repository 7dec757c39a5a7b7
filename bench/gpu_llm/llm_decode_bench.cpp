// Batch-1 prefill/decode throughput of troupe_llama on one device (GPU machine benchmark; the CPU
// one is `troupe bench lm`). Prints one JSON line.
//
// usage: llm_decode_bench BASE [ADAPTER] [--device cuda] [--dtype bfloat16] [--quantize none|nf4]
//                         [--prompt-tokens 64] [--new-tokens 128]
#include "adapter.hpp"
#include "generator.hpp"
#include "model.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <memory>

namespace ll = troupe::llama;

int main(int argc, char** argv) try {
    std::string base, adapter_dir, device = "cuda", dtype = "bfloat16", quantize = "none";
    int prompt_tokens = 64, new_tokens = 128;
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
    ll::generate(model, prompt, adapter.get(), [&] { auto w = go; w.sampling.max_new_tokens = 8; return w; }());
    double best_decode = 1e30, best_prefill = 1e30;
    size_t n = 0;
    for (int r = 0; r < 2; ++r) {
        const ll::Generation g = ll::generate(model, prompt, adapter.get(), go);
        best_prefill = std::min(best_prefill, g.prefill_seconds);
        best_decode = std::min(best_decode, g.decode_seconds / std::max<size_t>(g.ids.size() - 1, 1));
        n = g.ids.size();
    }
    nlohmann::json out = {{"impl", "troupe"},
                          {"model", model.describe()},
                          {"quantize", quantize},
                          {"adapter", !adapter_dir.empty()},
                          {"new_tokens", n},
                          {"load_seconds", load_s},
                          {"prefill_tokens_per_second", prompt_tokens / best_prefill},
                          {"decode_tokens_per_second", 1.0 / best_decode},
                          {"weight_gib", model.weight_bytes() / double(1 << 30)}};
    std::cout << out.dump() << std::endl;
    return 0;
} catch (const std::exception& e) {
    std::cerr << "llm_decode_bench: " << e.what() << "\n";
    return 1;
}
