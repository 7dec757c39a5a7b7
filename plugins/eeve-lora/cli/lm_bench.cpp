// troupe lm bench / troupe bench lm: prefill and decode throughput and peak memory of the Llama
// backend (default: the tiny conformance model on the CPU). It decodes as the text backend does: on
// CUDA through one DecodeSession (static KV cache, a graph captured during the warm-up run), on the
// CPU with the growing KV cache.
// bench/gpu_llm/gpu_llm_bench.sh runs it on the GPU machine with EEVE-size weights.
#include "lm_commands.hpp"

#include "adapter.hpp"
#include "decode_session.hpp"
#include "fused_ops.hpp"
#include "generator.hpp"
#include "model.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#ifdef TROUPE_CUDA_GRAPHS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <chrono>
#include <optional>
#include <sys/resource.h>

namespace troupe::llama::cli {
using kit::parse_options;
using kit::print_json;
namespace po = boost::program_options;

namespace {
double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double peak_rss_mib() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;  // KiB on Linux
}
double peak_gpu_mib(const at::Device& device) {
#ifdef TROUPE_CUDA_GRAPHS
    if (device.is_cuda())
        return c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index())
                   .allocated_bytes[0].peak / 1048576.0;
#endif
    (void)device;
    return 0;
}

// Aggregate decode tok/s of generate_batch over `batch` rows (row b uses adapters[b % K], or the
// base model when there are none): generated tokens after each row's first / the batch's decode time.
double batch_decode_tps(const llama::Model& model, const std::vector<int64_t>& prompt, int batch,
                        const std::vector<std::unique_ptr<llama::Adapter>>& adapters, int new_tokens, int repeats) {
    std::vector<llama::BatchRow> rows(static_cast<size_t>(batch));
    for (int b = 0; b < batch; ++b) {
        rows[b].prompt = prompt;
        rows[b].prompt.back() = 3 + b;  // rows differ
        rows[b].adapter = adapters.empty() ? nullptr : adapters[b % adapters.size()].get();
        rows[b].options.sampling.greedy = true;
        rows[b].options.sampling.repetition_penalty = 1.0f;
        rows[b].options.sampling.max_new_tokens = new_tokens;
        rows[b].options.eos_ids = {-1};
    }
    double best = 0;
    for (int r = 0; r < repeats + 1; ++r) {
        const std::vector<llama::Generation> g = llama::generate_batch(model, rows);
        size_t steps = 0;
        for (const auto& x : g) steps += x.ids.size() - 1;
        if (r > 0) best = std::max(best, steps / std::max(g[0].decode_seconds, 1e-9));
    }
    return best;
}
}  // namespace

int bench(const std::vector<std::string>& args, const CommandContext& ctx) {
    po::options_description options("troupe bench lm options");
    std::string model_dir = default_bench_model(), adapter_dir, device = "cpu", dtype, quantize = "none";
    int prompt_tokens = 64, new_tokens = 64, repeats = 3, threads = 0, batch = 0, n_adapters = 0;
    bool graph = true, compare = false;
    std::string prefill_list;
    options.add_options()("model", po::value(&model_dir), "HF model folder (default: the conformance tiny model)")(
        "adapter", po::value(&adapter_dir), "PEFT adapter applied unmerged")(
        "device", po::value(&device)->default_value("cpu"), "cpu | cuda")(
        "dtype", po::value(&dtype), "float32 | bfloat16 | float16")(
        "quantize", po::value(&quantize)->default_value("none"), "none | nf4")(
        "prompt-tokens", po::value(&prompt_tokens)->default_value(64), "prompt length")(
        "new-tokens", po::value(&new_tokens)->default_value(64), "decoded tokens per run")(
        "repeats", po::value(&repeats)->default_value(3), "runs (the best is reported)")(
        "threads", po::value(&threads)->default_value(0), "CPU threads (0 = LibTorch default)")(
        "graph", po::value(&graph)->default_value(true), "replay decode steps as a CUDA graph (CUDA only)")(
        "batch", po::value(&batch)->default_value(0), "also decode N rows as one batch (generate_batch) and report aggregate tok/s")(
        "adapters", po::value(&n_adapters)->default_value(0), "with --batch: K distinct random LoRA adapters (r 16, all 7 projections, as the issue #15 benchmark), row b uses adapter b % K")(
        "prefill-tokens", po::value(&prefill_list), "also time prefill alone for these prompt lengths (\"64,200\")")(
        "compare", po::bool_switch(&compare), "also time the legacy prefill path and the version-1 GEMV kernels (CUDA) in the same process");
    po::variables_map vm;
    if (!parse_options("troupe bench lm [--model DIR] [--prompt-tokens N] [--new-tokens N] [--json]", options, args, vm))
        return 0;
    if (prompt_tokens < 1 || new_tokens < 1 || repeats < 1)
        throw Error(Errc::invalid_argument, "--prompt-tokens, --new-tokens and --repeats must be >= 1");
    if (batch < 0 || n_adapters < 0) throw Error(Errc::invalid_argument, "--batch and --adapters must be >= 0");
    if (threads > 0) at::set_num_threads(threads);
    const double rss0 = peak_rss_mib();
    llama::LoadOptions lo;
    lo.device = device;
    lo.dtype = dtype;
    lo.quantize = quantize;
    double t = now();
    const llama::Model model = llama::Model::load(model_dir, lo);
    const double load_s = now() - t;
    std::unique_ptr<llama::Adapter> adapter;
    if (!adapter_dir.empty()) adapter = std::make_unique<llama::Adapter>(llama::Adapter::load(adapter_dir, model));
    const int64_t vocab = model.config().vocab_size;
    const int64_t context = model.config().max_position_embeddings;
    if (prompt_tokens + new_tokens >= context)
        throw Error(Errc::invalid_argument, fmt::format("prompt + new tokens must stay below the context ({})", context));
    std::vector<int64_t> prompt(prompt_tokens);
    for (int i = 0; i < prompt_tokens; ++i) prompt[i] = 3 + (i * 7919) % std::max<int64_t>(vocab - 3, 1);

    c10::InferenceMode guard;
    auto sync = [&] {
        if (model.device().is_cuda()) at::empty({1}, at::TensorOptions().device(model.device())).cpu();
    };
    std::optional<llama::DecodeSession> session;
    if (model.device().is_cuda()) session.emplace(model, adapter.get(), prompt_tokens + new_tokens, graph);
    llama::GenerateOptions go;
    go.sampling.greedy = true;
    go.sampling.repetition_penalty = 1.0f;
    go.sampling.max_new_tokens = new_tokens;
    go.eos_ids = {-1};
    go.session = session ? &*session : nullptr;
    // Seconds of one prefill of `ids` into a fresh cache (the last position's logits only).
    auto timed_prefill = [&](const std::vector<int64_t>& ids) {
        llama::KVCache cache = model.new_cache(1, int64_t(ids.size()) + 1);
        llama::ForwardOptions fo;
        fo.adapter = adapter.get();
        fo.cache = &cache;
        fo.last_only = true;
        sync();
        const double t0 = now();
        model.forward(at::tensor(ids, at::kLong), fo);
        sync();
        return now() - t0;
    };
    double best_prefill = 1e30, best_decode = 1e30;
    for (int r = 0; r < repeats + 1; ++r) {  // the first run warms up (and captures the graph)
        const double p = timed_prefill(prompt);
        const llama::Generation g = llama::generate(model, prompt, adapter.get(), go);
        if (r == 0) continue;
        best_prefill = std::min(best_prefill, p);
        // tokens after the first come from decode steps
        best_decode = std::min(best_decode, g.decode_seconds / std::max<size_t>(g.ids.size() - 1, 1));
    }
    // Prefill alone at other lengths (and, with --compare, through the legacy layer code).
    auto prefill_seconds = [&](int tokens) {
        std::vector<int64_t> p(tokens);
        for (int i = 0; i < tokens; ++i) p[i] = 3 + (i * 7919) % std::max<int64_t>(vocab - 3, 1);
        double best = 1e30;
        for (int r = 0; r < repeats + 1; ++r) {
            const double s = timed_prefill(p);
            if (r > 0) best = std::min(best, s);
        }
        return best;
    };
    nlohmann::json prefill_rows = nlohmann::json::array();
    for (size_t pos = 0; !prefill_list.empty() && pos != std::string::npos;) {
        const size_t comma = prefill_list.find(',', pos);
        const int tokens = std::stoi(prefill_list.substr(pos, comma == std::string::npos ? comma : comma - pos));
        pos = comma == std::string::npos ? comma : comma + 1;
        if (tokens < 1 || tokens >= context) throw Error(Errc::invalid_argument, "--prefill-tokens: lengths must be in [1, context)");
        for (bool fast : compare ? std::vector<bool>{true, false} : std::vector<bool>{true}) {
            llama::set_fast_prefill(fast);
            prefill_rows.push_back({{"tokens", tokens}, {"path", fast ? "fast" : "legacy"},
                                    {"tokens_per_second", tokens / prefill_seconds(tokens)}});
        }
        llama::set_fast_prefill(true);
    }
    // Decode through each GEMV kernel version (a session, and its graph, per version).
    nlohmann::json decode_rows = nlohmann::json::array();
    if (compare && model.device().is_cuda()) {
        const int current = llama::gemv_version();
        for (int version : {1, 2}) {
            llama::set_gemv_version(version);
            llama::DecodeSession s(model, adapter.get(), prompt_tokens + new_tokens, graph);
            llama::GenerateOptions gv = go;
            gv.session = &s;
            double best = 1e30;
            for (int r = 0; r < repeats + 1; ++r) {
                const llama::Generation g = llama::generate(model, prompt, adapter.get(), gv);
                if (r > 0) best = std::min(best, g.decode_seconds / std::max<size_t>(g.ids.size() - 1, 1));
            }
            decode_rows.push_back({{"gemv", version}, {"fused", s.fused()}, {"graph", s.graphed()},
                                   {"tokens_per_second", 1.0 / best}});
        }
        llama::set_gemv_version(current);
    }
    double batch_tps = 0, batch1_tps = 0;
    if (batch > 0) {
        std::vector<std::unique_ptr<llama::Adapter>> adapters;
        llama::AdapterConfig ac;
        ac.r = 16;
        ac.lora_alpha = 32;
        ac.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
        for (int k = 0; k < n_adapters; ++k)
            adapters.push_back(std::make_unique<llama::Adapter>(llama::Adapter::create(model, ac, 100 + k)));
        batch1_tps = batch_decode_tps(model, prompt, 1, adapters, new_tokens, repeats);
        batch_tps = batch_decode_tps(model, prompt, batch, adapters, new_tokens, repeats);
    }
    // Bytes one decode step reads: every weight but the embedding table (one row of it).
    const auto& c = model.config();
    const double step_gb =
        (double(model.weight_bytes()) - double(c.vocab_size) * c.hidden_size * at::elementSize(model.dtype())) / 1e9;
    const double prefill_tps = prompt_tokens / best_prefill;
    const double decode_tps = 1.0 / best_decode;
    const nlohmann::json out = {{"impl", "troupe"},
                                {"model", model.describe()},
                                {"adapter", adapter_dir},
                                {"quantize", quantize},
                                {"graph", session && session->graphed()},
                                {"fused", session && session->fused()},
                                {"device", model.device().str()},
                                {"threads", at::get_num_threads()},
                                {"prompt_tokens", prompt_tokens},
                                {"new_tokens", new_tokens},
                                {"load_seconds", load_s},
                                {"prefill_tokens_per_second", prefill_tps},
                                {"decode_tokens_per_second", decode_tps},
                                {"weight_mib", model.weight_bytes() / 1048576.0},
                                {"read_gb_per_token", step_gb},
                                {"effective_gb_per_second", step_gb * decode_tps},
                                {"peak_gpu_gib", peak_gpu_mib(model.device()) / 1024.0},
                                {"peak_rss_mib", peak_rss_mib()},
                                {"rss_before_load_mib", rss0},
                                {"batch", batch},
                                {"batch_adapters", n_adapters},
                                {"batch_decode_tokens_per_second", batch_tps},
                                {"batch1_decode_tokens_per_second", batch1_tps},
                                {"gemv", llama::gemv_version() == 0 ? nlohmann::json("auto") : nlohmann::json(llama::gemv_version())},
                                {"prefill_path", llama::fast_prefill() ? "fast" : "legacy"},
                                {"prefill_runs", prefill_rows},
                                {"decode_kernels", decode_rows}};
    if (ctx.json) {
        print_json(out.dump(2));
    } else {
        fmt::print("model     {}\n", model.describe());
        fmt::print("prefill   {:.1f} tok/s ({} tokens)\n", prefill_tps, prompt_tokens);
        fmt::print("decode    {:.1f} tok/s ({} tokens, batch 1, KV cache{}{})\n", decode_tps, new_tokens,
                   session && session->graphed() ? ", CUDA graph" : "", session && session->fused() ? ", fused kernels" : "");
        if (batch > 0)
            fmt::print("batched   {:.1f} tok/s aggregate (batch {}, {} adapters; batch 1 on the same path {:.1f} tok/s, x{:.2f})\n",
                       batch_tps, batch, n_adapters, batch1_tps, batch1_tps > 0 ? batch_tps / batch1_tps : 0.0);
        for (const auto& r : prefill_rows)
            fmt::print("prefill   {:.1f} tok/s ({} tokens, {} path)\n", r["tokens_per_second"].get<double>(),
                       r["tokens"].get<int>(), r["path"].get<std::string>());
        for (const auto& r : decode_rows)
            fmt::print("decode    {:.1f} tok/s (GEMV kernels v{}, {:.0f} GB/s of weights)\n",
                       r["tokens_per_second"].get<double>(), r["gemv"].get<int>(), step_gb * r["tokens_per_second"].get<double>());
        fmt::print("weights   {:.2f} MiB, peak RSS {:.1f} MiB, {} threads\n", model.weight_bytes() / 1048576.0,
                   peak_rss_mib(), at::get_num_threads());
    }
    return 0;
}

}  // namespace troupe::llama::cli
