// GPT-SoVITS v2 fine-tuning benchmark of Troupe's trainers (the counterpart of upstream_train_bench.py;
// train_bench.sh runs both on the same files). Prints one JSON line.
//
//   train_bench s1 --data DIR --pretrained S1.ckpt --out DIR [--device cuda] [--batch 8] [--steps 12]
//                  [--warmup 2] [--dropout 0.1] [--first-loss]
//   train_bench s2 --data DIR --pretrained S2G.pth [--pretrained-d S2D.pth] --out DIR [--device cuda]
//                  [--batch 4] [--steps 12] [--warmup 2] [--dropout -1]
//
// Runs train_s1 / train_s2 (the library `troupe train s1|s2` calls) for `steps` optimizer steps from a
// fresh output folder and times them from the end of optimizer step `warmup` (kernels, allocator and
// the first data reads are outside the timing) to the end; the trainers read every loss to the host
// after each (micro-)batch, so the clock sees finished device work. S1 steps are ScaledAdam steps
// (4 micro-batches each, the first one 5, as upstream); S2 steps are one D + one G update.
// Peak VRAM: the CUDA caching allocator's peak of allocated bytes over the whole run (weights,
// optimizer state and activations), as torch.cuda.max_memory_allocated() reports it for upstream.
// --first-loss: stop after the first micro-batch and print its loss only (the cross-load check: run
// with an exported file as --pretrained and dropout 0).
#include "train/s1_trainer.hpp"
#include "train/s2_trainer.hpp"

#include <nlohmann/json.hpp>

#ifdef TROUPE_CUDA_GRAPHS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tr = troupe::sovits::train;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int device_index(const std::string& device) {
    const auto colon = device.find(':');
    return colon == std::string::npos ? 0 : std::stoi(device.substr(colon + 1));
}

void reset_peak(const std::string& device) {
#ifdef TROUPE_CUDA_GRAPHS
    if (device.rfind("cuda", 0) == 0) {
        // The caching allocator has no per-device state before the first allocation ("Invalid device
        // argument"): allocate once, then reset.
        (void)at::empty({1}, at::TensorOptions().device(c10::Device(device)));
        c10::cuda::CUDACachingAllocator::get()->resetPeakStats(device_index(device));
    }
#else
    (void)device;
#endif
}

double peak_mib(const std::string& device) {
#ifdef TROUPE_CUDA_GRAPHS
    if (device.rfind("cuda", 0) == 0) {
        const auto stats = c10::cuda::CUDACachingAllocator::get()->getDeviceStats(device_index(device));
        return double(stats.allocated_bytes[0].peak) / (1 << 20);  // [0] = aggregate
    }
#else
    (void)device;
#endif
    return 0.0;
}

// Wall time at the end of each optimizer step (the progress hook after the micro-batch that stepped).
struct StepClock {
    std::map<int64_t, double> at;  // steps done -> time
    void mark(int64_t steps) {
        if (!at.count(steps)) at[steps] = now();
    }
    double steps_per_s(int64_t warmup, int64_t last) const {
        if (!at.count(warmup) || !at.count(last) || last <= warmup) return 0.0;
        return double(last - warmup) / (at.at(last) - at.at(warmup));
    }
};

std::map<std::string, std::string> parse(int argc, char** argv) {
    std::map<std::string, std::string> o;
    for (int i = 2; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument " + k);
        if (k == "--first-loss") { o[k] = "1"; continue; }
        if (i + 1 >= argc) throw std::runtime_error(k + " needs a value");
        o[k] = argv[++i];
    }
    return o;
}

std::string need(const std::map<std::string, std::string>& o, const std::string& k) {
    const auto it = o.find(k);
    if (it == o.end()) throw std::runtime_error("missing " + k);
    return it->second;
}

std::string opt(const std::map<std::string, std::string>& o, const std::string& k, const std::string& d) {
    const auto it = o.find(k);
    return it == o.end() ? d : it->second;
}

// The options both stages read the same way (S1TrainConfig and S2TrainConfig share these fields):
// a fresh run to --out, no epoch limit or epoch checkpoints in the timed window.
template <class Config>
void common_options(Config& c, const std::map<std::string, std::string>& o, const char* batch, const char* dropout) {
    c.output_dir = need(o, "--out");
    c.device = opt(o, "--device", "cpu");
    c.batch_size = std::stoll(opt(o, "--batch", batch));
    c.dropout = std::stod(opt(o, "--dropout", dropout));
    c.epochs = 1000;
    c.save_every_epochs = 1000;
    c.resume = false;
}

nlohmann::json run_s1(const std::map<std::string, std::string>& o) {
    tr::S1TrainConfig c;
    c.data_dir = need(o, "--data");
    c.pretrained = need(o, "--pretrained");
    common_options(c, o, "8", "0.1");
    const int64_t steps = std::stoll(opt(o, "--steps", "12")), warmup = std::stoll(opt(o, "--warmup", "2"));
    const bool first = o.count("--first-loss") > 0;
    c.max_steps = first ? 1 : steps;
    std::filesystem::remove_all(c.output_dir);
    StepClock clock;
    int64_t micro = 0;
    tr::S1TrainHooks h;
    h.progress = [&](const tr::S1Progress& p) { ++micro; clock.mark(p.steps); };
    h.should_stop = [&] { return first && micro >= 1; };
    reset_peak(c.device);
    const double t0 = now();
    const tr::S1TrainResult r = tr::train_s1(c, h);
    const double total = now() - t0;
    nlohmann::json j = {{"impl", "troupe"}, {"stage", "s1"}, {"device", c.device}, {"dtype", "float32"},
                        {"batch", r.batch_size}, {"steps", r.steps}, {"micro_batches", r.micro_batches},
                        {"losses", r.losses}, {"wall_s", total}, {"peak_vram_mib", peak_mib(c.device)}};
    if (!first) {
        j["timed_steps"] = steps - warmup;
        j["steps_per_s"] = clock.steps_per_s(warmup, steps);
    }
    j["exported"] = r.exported;
    return j;
}

nlohmann::json run_s2(const std::map<std::string, std::string>& o) {
    tr::S2TrainConfig c;
    c.data_dir = need(o, "--data");
    c.pretrained_g = need(o, "--pretrained");
    c.pretrained_d = opt(o, "--pretrained-d", "");
    common_options(c, o, "4", "-1");
    const int64_t steps = std::stoll(opt(o, "--steps", "12")), warmup = std::stoll(opt(o, "--warmup", "2"));
    c.max_steps = steps;
    std::filesystem::remove_all(c.output_dir);
    StepClock clock;
    tr::S2TrainHooks h;
    h.progress = [&](const tr::S2Progress& p) { clock.mark(p.steps); };
    reset_peak(c.device);
    const double t0 = now();
    const tr::S2TrainResult r = tr::train_s2(c, h);
    const double total = now() - t0;
    return {{"impl", "troupe"}, {"stage", "s2"}, {"device", c.device}, {"dtype", "float32"}, {"batch", c.batch_size},
            {"steps", r.steps}, {"losses_g", r.losses_g}, {"losses_d", r.losses_d}, {"wall_s", total},
            {"timed_steps", steps - warmup}, {"steps_per_s", clock.steps_per_s(warmup, steps)},
            {"peak_vram_mib", peak_mib(c.device)}, {"exported", r.exported}};
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2) throw std::runtime_error("usage: train_bench s1|s2 --data DIR --pretrained FILE --out DIR [...]");
    const std::string stage = argv[1];
    const auto o = parse(argc, argv);
    nlohmann::json j = stage == "s1" ? run_s1(o) : stage == "s2" ? run_s2(o) : throw std::runtime_error("stage must be s1 or s2");
    std::cout << j.dump() << std::endl;
    return 0;
} catch (const std::exception& e) {
    std::cerr << "train_bench: " << e.what() << "\n";
    return 1;
}
