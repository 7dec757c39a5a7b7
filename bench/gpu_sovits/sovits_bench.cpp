// GPT-SoVITS v2 synthesis benchmark of Troupe's gpt-sovits code on one device (the counterpart of
// upstream_bench.py; gpu_sovits_bench.sh runs both on the same files). Prints one JSON line.
//
// One request = every segment of inputs.json in turn, as Engine::run_segment does it: S1
// s1::infer_panel over [prompt phones | target phones] with the prompt codes (top-k 15, top-p 1,
// temperature 1, repetition penalty 1.35, Exp(1) noise drawn on the CPU from the segment's seed as
// the engine does; --noise device uses the device generator), then S2 decode of the kept tokens with
// the target phones and the voice's style vector (noise scale 0.5), peak-normalised and copied to the
// host. The weights disable EOS (make_random_v2.py), so each segment generates tokens + 1 tokens
// and S2 gets `tokens` of them (upstream's y[:, -idx:] after an early_stop_num stop).
// Voice preparation (reference spectrogram, style vector) is done once, outside the timings.
//
// --stream: S2 decodes each segment in chunks while S1 runs (s2/stream.hpp, the engine's streaming
// path: chunk --chunk-tokens (16) new tokens once --lookahead-tokens (4) more exist); first audio is
// then the time to the first chunk, S2 s the time spent in chunk decodes (inside the S1 loop), and
// S1 tok/s counts S1's own time only.
//
// --s1-batch: S1 decodes every segment of the request in one batch (s1::infer_panel_batch with the
// static graph, each row's noise from its segment's seed, as the engine does with s1_batch = true),
// then S2 decodes the segments in turn; first audio = the batch plus the first segment's S2.
//
// usage: sovits_bench DIR [--device cuda] [--tokens 128] [--runs 3] [--noise engine|device]
//        [--stream [--chunk-tokens 16] [--lookahead-tokens 4]] [--s1-batch]
#include "s1/decoder.hpp"
#include "s1/model.hpp"
#include "s2/model.hpp"
#include "s2/spectrogram.hpp"
#include "s2/stream.hpp"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#ifdef TROUPE_CUDA_GRAPHS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <sys/resource.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gsv = troupe::sovits;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// 16-bit PCM mono WAV (what make_random_v2.py writes) → float samples in [-1, 1).
std::vector<float> read_pcm16(const std::string& path, int& rate) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto u32 = [&](size_t o) { uint32_t v; std::memcpy(&v, &b[o], 4); return v; };
    auto u16 = [&](size_t o) { uint16_t v; std::memcpy(&v, &b[o], 2); return v; };
    if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0)
        throw std::runtime_error(path + ": not a WAV file");
    std::vector<float> out;
    for (size_t o = 12; o + 8 <= b.size();) {
        const uint32_t len = u32(o + 4);
        if (std::memcmp(&b[o], "fmt ", 4) == 0) {
            if (u16(o + 8) != 1 || u16(o + 10) != 1 || u16(o + 22) != 16)
                throw std::runtime_error(path + ": expected 16-bit PCM mono");
            rate = int(u32(o + 12));
        } else if (std::memcmp(&b[o], "data", 4) == 0) {
            const size_t n = std::min<size_t>(len, b.size() - o - 8) / 2;
            out.resize(n);
            for (size_t i = 0; i < n; ++i) out[i] = float(int16_t(u16(o + 8 + 2 * i))) / 32768.0f;
        }
        o += 8 + len + (len & 1);
    }
    return out;
}

at::Tensor ids(const std::vector<int64_t>& v, const c10::Device& d) {
    return at::tensor(at::ArrayRef<int64_t>(v), at::kLong).unsqueeze(0).to(d);
}

struct RunTimes {
    double total = 0, s1 = 0, s2 = 0, first_audio = 0, audio_seconds = 0, first_rms = 0;
    int64_t s1_tokens = 0, s2_tokens = 0;
    std::vector<int64_t> first_tokens;
};

}  // namespace

int main(int argc, char** argv) try {
    std::string dir, device = "cuda", noise = "engine", s1_dtype = "float32";
    int64_t tokens = 128, runs = 3;
    bool stream = false, s1_batch = false;
    gsv::s2::StreamOptions chunking;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--device") device = next();
        else if (a == "--tokens") tokens = std::stoll(next());
        else if (a == "--runs") runs = std::stoll(next());
        else if (a == "--noise") noise = next();
        else if (a == "--s1-dtype") s1_dtype = next();
        else if (a == "--stream") stream = true;
        else if (a == "--s1-batch") s1_batch = true;
        else if (a == "--chunk-tokens") chunking.chunk_tokens = std::stoll(next());
        else if (a == "--lookahead-tokens") chunking.lookahead_tokens = std::stoll(next());
        else if (dir.empty()) dir = a;
        else throw std::runtime_error("unexpected argument " + a);
    }
    const std::map<std::string, at::ScalarType> s1_dtypes = {
        {"float32", at::kFloat}, {"bfloat16", at::kBFloat16}, {"float16", at::kHalf}};
    if (dir.empty() || tokens < 12 || runs < 1 || (noise != "engine" && noise != "device") || !s1_dtypes.count(s1_dtype) ||
        (s1_batch && (stream || noise != "engine")))
        throw std::runtime_error("usage: sovits_bench DIR [--device cuda] [--tokens N>=12] [--runs 3] [--noise engine|device] "
                                 "[--s1-dtype float32|bfloat16|float16] [--stream [--chunk-tokens N] [--lookahead-tokens N] | --s1-batch]");
    const c10::Device dev(device);
    if (dev.is_cuda()) {  // as Engine::load: the conformance tolerances need TF32 off
        at::globalContext().setAllowTF32CuBLAS(false);
        at::globalContext().setAllowTF32CuDNN(false);
    }
    nlohmann::json in;
    {
        std::ifstream f(dir + "/inputs.json");
        if (!f) throw std::runtime_error(dir + "/inputs.json: cannot open");
        f >> in;
    }
    const auto prompt_codes = in["prompt_codes"].get<std::vector<int64_t>>();
    const auto prompt_phones = in["prompt_phones"].get<std::vector<int64_t>>();
    const auto segments = in["segments"].get<std::vector<std::vector<int64_t>>>();

    double t = now();
    const gsv::s1::LoadedS1 s1 = gsv::s1::load_s1(dir + "/s1.ckpt", dev, s1_dtypes.at(s1_dtype));
    const gsv::s2::S2Model s2 = gsv::s2::S2Model::load(dir + "/s2.pth", dev);
    const double load_s = now() - t;

    c10::InferenceMode guard;
    // The voice (the engine caches it per voice): reference spectrogram → style vector.
    int rate = 0;
    const std::vector<float> ref = read_pcm16(dir + "/" + in["reference"].get<std::string>(), rate);
    if (rate != s2.config().sampling_rate) throw std::runtime_error("reference WAV must be at the model's rate");
    at::Tensor wav = at::from_blob(const_cast<float*>(ref.data()), {int64_t(ref.size())}, at::kFloat).clone();
    const at::Tensor spec = s2.spectrogram(gsv::s2::prepare_reference_audio(wav));
    const at::Tensor ge = s2.mean_style({spec});
    const at::Tensor prompt = ids(prompt_codes, dev);

    auto decode_options = [](int64_t n_tokens) {
        gsv::s1::DecodeOptions o;
        o.sampling.top_k = 15;
        o.sampling.top_p = 1.0;
        o.sampling.temperature = 1.0;
        o.sampling.repetition_penalty = 1.35;
        o.early_stop_num = n_tokens;
        return o;
    };
    auto text_row = [&](size_t i) {
        std::vector<int64_t> all = prompt_phones;
        all.insert(all.end(), segments[i].begin(), segments[i].end());
        return ids(all, dev);
    };
    // S2 of one segment's tokens, one shot, peak-normalised on the host.
    auto s2_one_shot = [&](const at::Tensor& kept, size_t i, uint64_t seg_seed) {
        gsv::s2::DecodeOptions so;
        so.noise_scale = 0.5;
        so.seed = seg_seed;
        const gsv::s2::DecodeResult out = s2.decode(kept.unsqueeze(0), ids(segments[i], dev), ge, so);
        at::Tensor audio = out.audio.select(0, 0).select(0, 0).to(at::kCPU, at::kFloat).contiguous();
        const double peak = audio.abs().max().item<double>();
        return peak > 1.0 ? audio / peak : audio;
    };
    auto note_first = [](RunTimes& r, const at::Tensor& kept_host, const at::Tensor& audio) {
        const int64_t k = std::min<int64_t>(16, kept_host.numel());
        const int64_t* p = kept_host.flatten().data_ptr<int64_t>();
        r.first_tokens.assign(p, p + k);
        r.first_rms = audio.pow(2).mean().sqrt().item<double>();  // NaN if the audio is not finite
    };

    // --s1-batch: one batched S1 over all segments, then S2 per segment.
    auto run_batched = [&](int64_t n_tokens, uint64_t seed) {
        RunTimes r;
        const double t0 = now();
        std::vector<at::Tensor> rows;
        std::vector<std::function<at::Tensor(const at::Tensor&)>> noises;
        for (size_t i = 0; i < segments.size(); ++i) {
            rows.push_back(text_row(i));
            noises.push_back(gsv::s1::seeded_cpu_noise(seed + i));  // as the engine draws it
        }
        gsv::s1::DecodeOptions o = decode_options(n_tokens);
        o.row_noise = [&noises](int64_t row, int64_t, const at::Tensor& probs) { return noises[size_t(row)](probs); };
        const auto decoded = gsv::s1::infer_panel_batch(*s1.model, rows, {}, prompt, o);
        for (const auto& d : decoded) (void)d.kept.cpu();  // synchronises
        r.s1 = now() - t0;
        for (size_t i = 0; i < segments.size(); ++i) {
            const double b = now();
            const at::Tensor audio = s2_one_shot(decoded[i].kept, i, seed + i);
            const double c = now();
            if (i == 0) {
                r.first_audio = c - t0;
                note_first(r, decoded[i].kept.cpu(), audio);
            }
            r.s2 += c - b;
            r.s1_tokens += decoded[i].idx;
            r.s2_tokens += decoded[i].kept.numel();
            r.audio_seconds += double(audio.numel()) / double(s2.config().sampling_rate);
        }
        r.total = now() - t0;
        return r;
    };

    auto run_segments = [&](int64_t n_tokens, uint64_t seed) {
        RunTimes r;
        const double t0 = now();
        for (size_t i = 0; i < segments.size(); ++i) {
            const uint64_t seg_seed = seed + i;
            gsv::s1::DecodeOptions o = decode_options(n_tokens);
            if (noise == "engine")
                o.noise = [fn = gsv::s1::seeded_cpu_noise(seg_seed)](int64_t, const at::Tensor& probs) { return fn(probs); };
            else
                at::manual_seed(seg_seed);
            gsv::s2::DecodeOptions so;
            so.noise_scale = 0.5;
            so.seed = seg_seed;
            // --stream: chunks decoded from inside S1's loop; their time is S2's, not S1's.
            double in_s2 = 0, first_chunk = -1;
            std::unique_ptr<gsv::s2::StreamDecoder> chunks;
            if (stream) {
                chunks = std::make_unique<gsv::s2::StreamDecoder>(s2, ids(segments[i], dev), ge, so, chunking,
                                                                  [&](const float*, size_t) {
                                                                      if (first_chunk < 0) first_chunk = now() - t0;
                                                                      return true;
                                                                  });
                o.on_token = [&](int64_t tok) {
                    const double x = now();
                    const bool ok = chunks->push(tok);
                    in_s2 += now() - x;
                    return ok;
                };
            }
            const double a = now();
            const gsv::s1::DecodeResult d = gsv::s1::infer_panel(*s1.model, text_row(i), at::Tensor(), prompt, o);
            const at::Tensor kept_host = d.kept.cpu();  // synchronises; S2 needs the tokens anyway
            const double b = now();
            at::Tensor audio;
            if (chunks) {
                chunks->finish();
                audio = at::tensor(chunks->audio(), at::kFloat).clamp(-1.0, 1.0);
            } else {
                audio = s2_one_shot(d.kept, i, seg_seed);
            }
            const double c = now();
            if (i == 0) {
                r.first_audio = first_chunk >= 0 ? first_chunk : c - t0;
                note_first(r, kept_host, audio);
            }
            r.s1 += b - a - in_s2;
            r.s2 += c - b + in_s2;
            r.s1_tokens += d.generated.numel();
            r.s2_tokens += d.kept.numel();
            r.audio_seconds += double(audio.numel()) / double(s2.config().sampling_rate);
        }
        r.total = now() - t0;
        return r;
    };
    auto run = [&](int64_t n_tokens, uint64_t seed) { return s1_batch ? run_batched(n_tokens, seed) : run_segments(n_tokens, seed); };

    run(16, 1);  // warm-up: allocator, kernels, cuDNN algorithms, graph capture
    run(tokens, 7);  // warm-up at the measured length (same cache capacity as the measured runs)
#ifdef TROUPE_CUDA_GRAPHS
    if (dev.is_cuda()) c10::cuda::CUDACachingAllocator::get()->resetPeakStats(dev.index() < 0 ? 0 : dev.index());
#endif
    RunTimes best;
    best.total = 1e30;
    for (int64_t k = 0; k < runs; ++k) {
        RunTimes r = run(tokens, 1234);
        if (r.total < best.total) best = r;
    }
    double peak_vram_mib = 0;
#ifdef TROUPE_CUDA_GRAPHS
    if (dev.is_cuda()) {
        const auto stats = c10::cuda::CUDACachingAllocator::get()->getDeviceStats(dev.index() < 0 ? 0 : dev.index());
        peak_vram_mib = double(stats.allocated_bytes[0].peak) / (1 << 20);  // [0] = aggregate
    }
#endif
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    nlohmann::json j = {{"impl", "troupe"},
                        {"variant", std::string("infer_panel (") + (noise == "engine" ? "engine noise" : "device noise") +
                                        (stream ? ", streaming S2: chunk " + std::to_string(chunking.chunk_tokens) +
                                                      " + lookahead " + std::to_string(chunking.lookahead_tokens)
                                                : std::string()) +
                                        (s1_batch ? ", S1 batched over the segments" : "") + ")"},
                        {"device", device},
                        {"dtype", s1_dtype == "float32" ? std::string("float32") : "S1 " + s1_dtype + ", S2 float32"},
                        {"segments", segments.size()},
                        {"tokens_per_segment", tokens},
                        {"load_s", load_s},
                        {"s1_tokens", best.s1_tokens},
                        {"s2_tokens", best.s2_tokens},
                        {"s1_s", best.s1},
                        {"s1_tokens_per_s", best.s1_tokens / best.s1},
                        {"s2_s", best.s2},
                        {"total_s", best.total},
                        {"audio_s", best.audio_seconds},
                        {"rtf", best.total / best.audio_seconds},
                        {"first_audio_s", best.first_audio},
                        {"peak_vram_mib", peak_vram_mib},
                        {"peak_rss_mib", double(ru.ru_maxrss) / 1024.0},
                        {"first_tokens", best.first_tokens},
                        {"first_audio_rms", best.first_rms}};
    std::cout << j.dump() << std::endl;
    return 0;
} catch (const std::exception& e) {
    std::cerr << "sovits_bench: " << e.what() << "\n";
    return 1;
}
