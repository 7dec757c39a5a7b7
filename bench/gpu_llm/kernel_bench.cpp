// kernel_bench — where one decode token's time goes: each fused decode kernel of the Llama backend
// (plugins/eeve-lora/src/fused_ops.hpp) timed alone at the EEVE-10.8B shapes, then one whole layer,
// each captured as a CUDA graph of `iters` back-to-back calls (as a decode step runs them), best of
// 3 replays. The linears report GB/s of weights read and the % of the bandwidth given with --peak-gbs;
// an ATen matmul (cuBLAS) of the same dense weight is the reference row. A CUDA build only.
//
//   kernel_bench [--dtype bf16|f16] [--position 128] [--iters 100] [--rank 16] [--peak-gbs 4800]
//                [--nf4] [--gemv 0|1|2] [--attention 1|2] [--hidden 4096 --intermediate 14336 --heads 32 --kv-heads 8
//                 --head-dim 128 --vocab 40960 --layers 48]
#include "fused_ops.hpp"
#include "model.hpp"
#include "nf4.hpp"

#include <troupe/torch/cuda_graph.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <functional>
#include <map>
#include <string>

namespace {
using namespace troupe;

struct Options {
    std::map<std::string, std::string> kv{{"dtype", "bf16"}, {"position", "128"}, {"iters", "100"},
                                          {"rank", "16"},     {"peak-gbs", "4800"}, {"gemv", "0"}, {"attention", "0"},
                                          {"hidden", "4096"}, {"intermediate", "14336"}, {"heads", "32"},
                                          {"kv-heads", "8"},  {"head-dim", "128"},  {"vocab", "40960"}, {"layers", "48"}};
    bool nf4 = false;
    int64_t i(const char* k) const { return std::stoll(kv.at(k)); }
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Microseconds per call of `step`: a graph of `iters` calls, best of 3 replays.
double time_us(const std::function<void()>& step, int iters, const at::Tensor& sync) {
    CudaGraph graph;
    graph.capture([&] {
        for (int k = 0; k < iters; ++k) step();
    }, 1);
    graph.replay();
    (void)sync.sum().item<float>();
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        const double t0 = now();
        graph.replay();
        (void)sync.sum().item<float>();
        best = std::min(best, now() - t0);
    }
    return best / iters * 1e6;
}

struct Proj {
    llama::Linear lin;
    llama::LoraWeights lora;
};

Proj make_proj(int64_t in, int64_t out, int64_t rank, bool nf4, const at::TensorOptions& o) {
    Proj p;
    p.lin.in = in;
    p.lin.out = out;
    at::Tensor w = at::randn({out, in}, o) * 0.02;
    if (nf4) {
        p.lin.nf4 = std::make_shared<llama::Nf4Weight>(llama::quantize_nf4(w, 64, true));
        p.lin.nf4_scales = p.lin.nf4->scales().contiguous();
    } else {
        p.lin.weight = w;
    }
    if (rank > 0) {
        const auto f = o.dtype(at::kFloat);
        p.lora.A = at::randn({rank, in}, f) * 0.02;
        p.lora.B = at::randn({out, rank}, f) * 0.02;
        p.lora.scaling = 2.0;
    }
    return p;
}

int64_t weight_bytes(const Proj& p) {
    return p.lin.nf4 ? p.lin.nf4->packed.numel() + p.lin.nf4_scales.numel() * 4 : p.lin.weight.nbytes();
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int a = 1; a < argc; ++a) {
        std::string k = argv[a];
        if (k == "--nf4") { opt.nf4 = true; continue; }
        if (k.rfind("--", 0) != 0 || a + 1 >= argc || !opt.kv.count(k.substr(2))) {
            fmt::print(stderr, "kernel_bench: unknown or incomplete option '{}'\n", k);
            return 2;
        }
        opt.kv[k.substr(2)] = argv[++a];
    }
    try {
        c10::InferenceMode guard;
        const at::Device dev(at::kCUDA, 0);
        if (!CudaGraph::available(dev)) {
            fmt::print(stderr, "kernel_bench: needs a CUDA build of Troupe and a GPU\n");
            return 2;
        }
        llama::set_gemv_version(static_cast<int>(opt.i("gemv")));
        if (opt.i("attention") != 0) llama::set_decode_attention_version(static_cast<int>(opt.i("attention")));
        const auto dt = opt.kv["dtype"] == "f16" ? at::kHalf : at::kBFloat16;
        const auto o = at::TensorOptions().dtype(dt).device(dev);
        const int64_t H = opt.i("hidden"), I = opt.i("intermediate"), nh = opt.i("heads"), kvh = opt.i("kv-heads"),
                      D = opt.i("head-dim"), V = opt.i("vocab"), r = opt.i("rank"), P = opt.i("position");
        const int iters = static_cast<int>(opt.i("iters"));
        const double peak = static_cast<double>(opt.i("peak-gbs"));
        at::manual_seed(0);

        Proj q = make_proj(H, nh * D, r, opt.nf4, o), k = make_proj(H, kvh * D, r, opt.nf4, o),
             v = make_proj(H, kvh * D, r, opt.nf4, o), out = make_proj(nh * D, H, r, opt.nf4, o),
             gate = make_proj(H, I, r, opt.nf4, o), up = make_proj(H, I, r, opt.nf4, o),
             down = make_proj(I, H, r, opt.nf4, o),
             head = make_proj(H, V, 0, false, o);  // the model keeps lm_head dense
        const at::Tensor norm_w = at::ones({H}, o);
        at::Tensor h = at::randn({1, 1, H}, o), attn_in = at::randn({1, 1, nh * D}, o), ff = at::randn({1, 1, I}, o);
        at::Tensor k_cache = at::randn({1, kvh, std::max<int64_t>(P + 1, 256), D}, o), v_cache = at::randn_like(k_cache);
        const at::Tensor cos = at::randn({D}, o), sin = at::randn({D}, o);
        const at::Tensor position = at::full({1}, P, o.dtype(at::kLong));
        const at::Tensor qkv = at::randn({1, 1, (nh + 2 * kvh) * D}, o), gate_up = at::randn({1, 1, 2 * I}, o);
        const double scale = 1.0 / std::sqrt(static_cast<double>(D));

        using Group = std::vector<const Proj*>;
        auto linear = [](const Group& g, const at::Tensor& x) {
            std::vector<const llama::Linear*> ls;
            std::vector<const llama::LoraWeights*> lw;
            for (const Proj* p : g) ls.push_back(&p->lin), lw.push_back(p->lora.defined() ? &p->lora : nullptr);
            return llama::group_linear(ls, lw, x);
        };
        fmt::print("kernel_bench: {} {}, hidden {} intermediate {} heads {}/{}×{} vocab {}, LoRA r={}, position {}, "
                   "GEMV {} ({}), attention v{}, {} calls per graph\n",
                   opt.nf4 ? "NF4" : "dense", opt.kv["dtype"], H, I, nh, kvh, D, V, r, P, opt.kv["gemv"],
                   llama::gemv_version_for(opt.nf4), llama::decode_attention_version(), iters);
        fmt::print("{:<28} {:>9} {:>9} {:>7}\n", "kernel", "µs", "GB/s", "% peak");
        double per_layer = 0;
        auto row = [&](const std::string& name, double us, int64_t bytes, int per_layer_count) {
            per_layer += us * per_layer_count;
            if (bytes > 0)
                fmt::print("{:<28} {:>9.2f} {:>9.0f} {:>6.1f}%\n", name, us, bytes / us / 1e3, 100 * bytes / us / 1e3 / peak);
            else
                fmt::print("{:<28} {:>9.2f}\n", name, us);
        };
        auto lin_row = [&](const std::string& name, const Group& g, const at::Tensor& x, int count) {
            int64_t bytes = 0;
            for (const Proj* p : g) bytes += weight_bytes(*p);
            const double us = time_us([&] { (void)linear(g, x); }, iters, x);
            row(name, us, bytes, count);
            return us;
        };
        row("rms_norm", time_us([&] { (void)llama::rms_norm(h, norm_w, 1e-5); }, iters, h), 0, 2);
        lin_row("qkv (+LoRA)", {&q, &k, &v}, h, 1);
        row("rope_into_cache", time_us([&] {
                (void)llama::rope_into_cache(qkv, cos, sin, position, k_cache, v_cache, nh, D);
            }, iters, h), 0, 1);
        row(fmt::format("decode_attention (p={})", P), time_us([&] {
                (void)llama::decode_attention(attn_in, k_cache, v_cache, position, nh, D, scale);
            }, iters, h), 2 * (P + 1) * kvh * D * static_cast<int64_t>(at::elementSize(dt)), 1);
        lin_row("o (+LoRA)", {&out}, attn_in, 1);
        row("residual add", time_us([&] { (void)(h + h); }, iters, h), 0, 2);
        lin_row("gate|up (+LoRA)", {&gate, &up}, h, 1);
        row("silu_mul", time_us([&] { (void)llama::silu_mul(gate_up); }, iters, h), 0, 1);
        lin_row("down (+LoRA)", {&down}, ff, 1);
        fmt::print("{:<28} {:>9.2f}\n", "sum of one layer's kernels", per_layer);

        const double layer = time_us([&] {
            at::Tensor x = h;
            at::Tensor a = linear({&q, &k, &v}, llama::rms_norm(x, norm_w, 1e-5));
            at::Tensor qr = llama::rope_into_cache(a, cos, sin, position, k_cache, v_cache, nh, D);
            x = x + linear({&out}, llama::decode_attention(qr, k_cache, v_cache, position, nh, D, scale));
            x = x + linear({&down}, llama::silu_mul(linear({&gate, &up}, llama::rms_norm(x, norm_w, 1e-5))));
        }, std::max(1, iters / 4), h);
        int64_t layer_bytes = 0;
        for (const Proj* p : {&q, &k, &v, &out, &gate, &up, &down}) layer_bytes += weight_bytes(*p);
        row("one layer in sequence", layer, layer_bytes, 0);
        const double head_us = lin_row("lm_head", {&head}, h, 0);
        const double token_ms = (opt.i("layers") * layer + head_us) / 1e3;
        fmt::print("{:<28} {:>9.2f} ms = {:.1f} tok/s ({} layers + lm_head; no embedding, RoPE table or sampling)\n",
                   "token estimate", token_ms, 1e3 / token_ms, opt.i("layers"));
        row("lm_head, ATen matmul", time_us([&] { (void)at::matmul(h, head.lin.weight.t()); }, iters, h),
            head.lin.weight.nbytes(), 0);
        if (!opt.nf4) {
            const at::Tensor wg = at::cat({gate.lin.weight, up.lin.weight});
            row("gate|up, ATen matmul", time_us([&] { (void)at::matmul(h, wg.t()); }, iters, h), wg.nbytes(), 0);
        }
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "kernel_bench: {}\n", e.what());
        return 1;
    }
}
