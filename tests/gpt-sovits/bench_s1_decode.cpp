// bench_s1_decode: S1 infer_panel tokens per second with the static-shape decode (CUDA graphs where
// available) and with the growing KV cache, on a randomly initialised model of the given size
// (default: the v2 S1, 24 layers × 512, 16 heads). EOS is blocked, so every run decodes --steps
// tokens; both paths must produce the same greedy tokens (exit 1 otherwise). Prints one JSON line.
// With --batch B > 1 it also times infer_panel_batch over B rows (row i has i * 7 phones fewer, so
// rows are padded) with static steps and eagerly, and B single-row static decodes one after the
// other; tokens/s count every row's tokens, and the batched paths must agree with each other.
//
//   bench_s1_decode [--device cpu|cuda] [--dtype float|half] [--layers 24] [--dim 512] [--heads 16]
//                   [--phones 100] [--prompt 150] [--steps 500] [--repeat 3] [--batch 1]
// (--dtype half: CUDA only; greedy tokens may then differ between the paths by fp16 rounding.)
#include "s1/decode_graph.hpp"
#include "s1/decoder.hpp"
#include "s1/model.hpp"

#include <troupe/torch/cuda_graph.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace s1 = troupe::sovits::s1;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// --batch: B rows through infer_panel_batch (static and eager) and B single-row decodes in turn.
void batch_bench(s1::Text2SemanticDecoderImpl& m, const s1::S1Config& c, const c10::Device& dev, const at::Tensor& prompt,
                 s1::DecodeOptions o, int64_t B, int64_t repeat, nlohmann::json& out) {
    std::vector<at::Tensor> rows;
    const auto longs = at::TensorOptions().dtype(at::kLong);
    const int64_t n = out["phones"].get<int64_t>();
    for (int64_t i = 0; i < B; ++i)
        rows.push_back(at::randint(0, c.phoneme_vocab_size, {1, std::max<int64_t>(1, n - 7 * i)}, longs).to(dev));
    std::vector<int64_t> got[2];
    for (const bool use_static : {false, true}) {
        o.static_decode = use_static;
        s1::infer_panel_batch(m, rows, {}, prompt, o);  // warm-up (capture)
        double best = 1e30;
        for (int64_t r = 0; r < repeat; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto res = s1::infer_panel_batch(m, rows, {}, prompt, o);
            best = std::min(best, seconds_since(t0));
            got[use_static].clear();
            for (const auto& row : res) {
                const at::Tensor y = row.y.flatten().to(at::kCPU).contiguous();
                got[use_static].insert(got[use_static].end(), y.data_ptr<int64_t>(), y.data_ptr<int64_t>() + y.numel());
            }
        }
        out[use_static ? "static_batch_tok_per_s" : "eager_batch_tok_per_s"] = double(B * o.max_steps) / best;
    }
    o.static_decode = true;
    double best = 1e30;
    for (int64_t r = 0; r < repeat; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& row : rows) s1::infer_panel(m, row, at::Tensor(), prompt, o);
        best = std::min(best, seconds_since(t0));
    }
    out["sequential_static_tok_per_s"] = double(B * o.max_steps) / best;
    out["batch"] = B;
    out["batch_tokens_match"] = got[0] == got[1];
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> a = {{"device", "cpu"}, {"dtype", "float"}, {"layers", "24"}, {"dim", "512"},
                                            {"heads", "16"},   {"phones", "100"},  {"prompt", "150"}, {"steps", "500"},
                                            {"repeat", "3"},   {"batch", "1"}};
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0 || !a.count(k.substr(2))) {
            std::cerr << "unknown option " << k << "\n";
            return 2;
        }
        a[k.substr(2)] = argv[i + 1];
    }
    auto num = [&](const char* k) { return std::stoll(a[k]); };
    try {
        const c10::Device dev{a["device"]};
        if (dev.is_cuda()) {
            at::globalContext().setAllowTF32CuBLAS(false);
            at::globalContext().setAllowTF32CuDNN(false);
        }
        const at::ScalarType dtype = a["dtype"] == "half" ? at::kHalf : at::kFloat;
        s1::S1Config c;
        c.n_layer = num("layers");
        c.embedding_dim = c.hidden_dim = num("dim");
        c.n_head = num("heads");
        at::manual_seed(0);
        auto m = std::make_shared<s1::Text2SemanticDecoderImpl>(c);
        m->to(dev, dtype);
        m->eval();
        torch::NoGradGuard no_grad;
        const auto longs = at::TensorOptions().dtype(at::kLong);
        const at::Tensor phones = at::randint(0, c.phoneme_vocab_size, {1, num("phones")}, longs).to(dev);
        const at::Tensor prompt = at::randint(0, c.vocab_size - 1, {1, num("prompt")}, longs).to(dev);
        s1::DecodeOptions o;
        o.sampling.top_k = 1;
        o.sampling.repetition_penalty = 1.35;
        o.max_steps = num("steps");
        o.min_steps = o.max_steps;  // EOS impossible: always --steps tokens
        o.early_stop_num = -1;

        nlohmann::json out = {{"device", dev.str()},   {"dtype", a["dtype"]},      {"layers", c.n_layer},
                              {"dim", c.hidden_dim},   {"phones", phones.size(1)}, {"prompt", prompt.size(1)},
                              {"steps", o.max_steps},  {"cuda_graph", false}};
        std::vector<int64_t> tokens[2];
        for (const bool use_static : {false, true}) {
            o.static_decode = use_static;
            tokens[use_static] = s1::infer_panel(*m, phones, at::Tensor(), prompt, o).step_tokens;  // warm-up (capture)
            double best = 1e30;
            for (int64_t r = 0; r < num("repeat"); ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                const auto res = s1::infer_panel(*m, phones, at::Tensor(), prompt, o);  // reads tokens every step
                best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                if (res.step_tokens != tokens[use_static]) throw std::runtime_error("decode is not deterministic");
            }
            out[use_static ? "static_tok_per_s" : "cached_tok_per_s"] = double(o.max_steps) / best;
        }
        {
            auto g = s1::DecodeGraph::acquire(*m, 256);
            out["cuda_graph"] = g->graphed();
        }
        if (num("batch") > 1) batch_bench(*m, c, dev, prompt, o, num("batch"), num("repeat"), out);
        int64_t same = 0;
        for (size_t i = 0; i < tokens[0].size() && i < tokens[1].size() && tokens[0][i] == tokens[1][i]; ++i) ++same;
        out["identical_prefix"] = same;
        out["tokens_match"] = tokens[0] == tokens[1];
        std::cout << out.dump() << std::endl;
        return tokens[0] == tokens[1] && out.value("batch_tokens_match", true) ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "bench_s1_decode: " << e.what() << "\n";
        return 2;
    }
}
