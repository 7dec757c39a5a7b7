// Whisper transcription speed of Troupe's recognizer (plugins/whisper) on synthetic audio, for
// bench/gpu_whisper/gpu_whisper_bench.sh. Prints one JSON line.
// Usage: whisper_bench MODEL_DIR SECONDS DEVICE DTYPE MAX_NEW_TOKENS BEAMS BATCH RUNS
#include "recognizer.hpp"

#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

int main(int argc, char** argv) {
    if (argc < 9) {
        std::fprintf(stderr, "usage: whisper_bench MODEL_DIR SECONDS DEVICE DTYPE MAX_NEW_TOKENS BEAMS BATCH RUNS\n");
        return 2;
    }
    using namespace troupe::whisper;
    try {
        c10::NoGradGuard no_grad;
        RecognizerOptions o;
        o.load.device = c10::Device(argv[3]);
        const std::string dtype = argv[4];
        o.load.dtype = dtype == "float16" ? at::kHalf : dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
        o.search.max_new_tokens = std::stoll(argv[5]);
        o.search.num_beams = std::stoll(argv[6]);
        o.batch_windows = std::stoll(argv[7]);
        const int runs = std::stoi(argv[8]);
        const double seconds = std::stod(argv[2]);
        const auto t_load = std::chrono::steady_clock::now();
        auto r = Recognizer::load_dir(argv[1], o);
        const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
        std::vector<float> wav(size_t(seconds * 16000));
        std::mt19937 gen(1);
        std::normal_distribution<float> noise(0.f, 0.01f);
        for (size_t i = 0; i < wav.size(); ++i) wav[i] = 0.3f * std::sin(2 * M_PI * 180.0 * double(i) / 16000.0) + noise(gen);
        r->transcribe_windows(wav);  // warm-up
        double best = 1e30;
        size_t tokens = 0;
        for (int i = 0; i < runs; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto res = r->transcribe_windows(wav);  // ends with a copy of each step's ids to the host
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            tokens = 0;
            for (const auto& w : res) tokens += w.tokens.size() + (w.ended ? 1 : 0);
            best = std::min(best, s);
        }
        std::printf("{\"impl\": \"troupe\", \"audio_s\": %.1f, \"wall_s\": %.3f, \"x_realtime\": %.1f, \"tokens\": %zu, "
                    "\"tokens_per_s\": %.1f, \"load_s\": %.1f, \"device\": \"%s\", \"dtype\": \"%s\", \"beams\": %s, \"batch\": %s}\n",
                    seconds, best, seconds / best, tokens, double(tokens) / best, load_s, argv[3], argv[4], argv[6], argv[7]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "whisper_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
