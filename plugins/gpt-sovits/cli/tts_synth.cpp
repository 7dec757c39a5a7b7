// troupe tts synth: GPT-SoVITS v2 synthesis from checkpoints, a reference voice and text (or ids).
#include "tts_commands.hpp"

#include <engine.hpp>

#include <troupe/audio.hpp>
#include <troupe/status.hpp>
#include <troupe/text.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>

namespace troupe::sovits::cli {
using kit::parse_options;
using kit::print_json;
namespace po = boost::program_options;
namespace gsv = troupe::sovits;

namespace {

// --dump: the float waveform and each segment's tokens and audio.
void write_dump(const std::string& path, gsv::SynthResult& result) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    tensors.emplace_back("audio", at::from_blob(result.samples.data(), {1, int64_t(result.samples.size())}, at::kFloat));
    for (size_t i = 0; i < result.segments.size(); ++i) {
        tensors.emplace_back(fmt::format("tokens_{}", i), result.segments[i].tokens.cpu());
        tensors.emplace_back(fmt::format("audio_{}", i), result.segments[i].audio.unsqueeze(0));
    }
    st::save(path, tensors);
}

}  // namespace

int synth(const std::vector<std::string>& args, const CommandContext& ctx) {
    po::options_description options("troupe tts synth");
    std::string s1, s2, hubert, ref, ref_text, text, output, prompt_codes, phone_ids, device = "cpu", split = "sentences",
                                                                                        dump;
    std::vector<std::string> extra_refs;
    uint64_t seed = 0;
    int64_t top_k = 15;
    double top_p = 1.0, temperature = 1.0, penalty = 1.35, noise_scale = 0.5, speed = 1.0, pause = 0.3;
    bool stream = false, raw = false, s1_batch = false;
    s2::StreamOptions chunking;
    options.add_options()
        ("s1", po::value(&s1)->required(), "S1 GPT checkpoint (upstream .ckpt, or .safetensors)")
        ("s2", po::value(&s2)->required(), "S2 SoVITS checkpoint (upstream .pth, or .safetensors)")
        ("hubert", po::value(&hubert), "chinese-hubert-base folder (prompt codes from the reference)")
        ("ref", po::value(&ref)->required(), "reference WAV (3-10 s)")
        ("ref-text", po::value(&ref_text), "transcript of the reference (empty: reference-free mode)")
        ("extra-ref", po::value(&extra_refs)->composing(), "more reference WAVs whose style is averaged in (repeatable)")
        ("text", po::value(&text), "text to speak (Korean)")
        ("prompt-codes", po::value(&prompt_codes), "file of prompt semantic codes (replaces --hubert)")
        ("phone-ids", po::value(&phone_ids),
         "file of phone ids replacing --ref-text/--text: JSON {\"prompt\": [...], \"target\": [...]} or two lines")
        ("output,o", po::value(&output)->required(), "output WAV (16-bit, 32 kHz); - = stdout (a WAV stream)")
        ("stream", po::bool_switch(&stream), "write audio as it is produced (S2 decodes chunks while S1 runs)")
        ("raw", po::bool_switch(&raw), "headerless 16-bit little-endian PCM instead of WAV")
        ("chunk-tokens", po::value(&chunking.chunk_tokens), "--stream: semantic tokens per chunk (25 per second)")
        ("lookahead-tokens", po::value(&chunking.lookahead_tokens), "--stream: tokens after a chunk decoded with it")
        ("context-tokens", po::value(&chunking.context_tokens), "--stream: tokens before a chunk decoded with it")
        ("crossfade-tokens", po::value(&chunking.crossfade_tokens), "--stream: tokens of audio cross-faded at a join")
        ("seed", po::value(&seed), "random seed (S1 sampling, S2 noise)")
        ("top-k", po::value(&top_k), "S1 top-k (1 = greedy)")
        ("top-p", po::value(&top_p), "S1 top-p")
        ("temperature", po::value(&temperature), "S1 temperature")
        ("repetition-penalty", po::value(&penalty), "S1 repetition penalty")
        ("noise-scale", po::value(&noise_scale), "S2 prior noise scale (upstream 0.5)")
        ("speed", po::value(&speed), "speaking rate (latent interpolation)")
        ("pause", po::value(&pause), "seconds of silence after each segment")
        ("split", po::value(&split), "text cut method: sentences, cut0..cut5")
        ("s1-batch", po::bool_switch(&s1_batch), "S1 decodes all segments as one batch (not with --stream)")
        ("device", po::value(&device), "cpu, cuda, cuda:N")
        ("dump", po::value(&dump), "also write the float waveform and tokens to this .safetensors file");
    po::variables_map vm;
    if (!parse_options("troupe tts synth --s1 F --s2 F (--hubert DIR | --prompt-codes F) --ref WAV "
                       "(--ref-text \"…\" --text \"…\" | --phone-ids F) -o out.wav|- [--stream] [options]",
                       options, args, vm))
        return 0;
    if (phone_ids.empty() && text.empty()) throw Error(Errc::invalid_argument, "give --text or --phone-ids");
    if (!phone_ids.empty() && (vm.count("text") || vm.count("ref-text")))
        throw Error(Errc::invalid_argument, "--phone-ids replaces --text and --ref-text; give one or the other");
    if (!hubert.empty() && !prompt_codes.empty())
        throw Error(Errc::invalid_argument, "--prompt-codes replaces --hubert; give one of them");
    if (top_k < 1) throw Error(Errc::invalid_argument, "--top-k must be ≥ 1");
    if (!text.empty()) check_user_text(text, "--text", 20000);

    const auto t0 = std::chrono::steady_clock::now();
    gsv::EngineOptions eo;
    eo.s1_path = s1;
    eo.s2_path = s2;
    eo.hubert_dir = hubert;
    eo.device = device;
    eo.s1_batch = s1_batch;
    auto engine = gsv::Engine::load(eo);

    gsv::VoiceSpec voice;
    voice.reference_audio = ref;
    voice.reference_text = ref_text;
    voice.extra_references = extra_refs;
    gsv::PhoneIdFile ids;
    if (!phone_ids.empty()) {
        ids = gsv::read_phone_id_file(phone_ids);
        voice.prompt_phones = ids.prompt;
    }
    if (!prompt_codes.empty()) voice.prompt_codes = gsv::read_id_list(prompt_codes);
    auto prepared = engine->prepare_voice(voice);

    gsv::SynthOptions so;
    so.top_k = top_k;
    so.top_p = top_p;
    so.temperature = temperature;
    so.repetition_penalty = penalty;
    so.noise_scale = noise_scale;
    so.speed = speed;
    so.seed = seed;
    so.pause_seconds = pause;
    so.cut = text::parse_cut_method(split);
    const auto t1 = std::chrono::steady_clock::now();
    // Output: streamed as pieces arrive (--stream), else the whole audio at the end. A WAV file that
    // is not streamed is written atomically; stdout and --raw always go through the stream writer.
    std::unique_ptr<WavStreamWriter> writer;
    if (stream || raw || output == "-") writer = std::make_unique<WavStreamWriter>(output, engine->sample_rate(), raw);
    double first_audio_s = -1;
    gsv::Streaming streaming;
    streaming.options = chunking;
    streaming.on_audio = [&](const float* x, size_t n) {
        if (first_audio_s < 0) first_audio_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        writer->write(x, n);
        return !ctx.cancelled();
    };
    const gsv::Streaming* st = stream ? &streaming : nullptr;
    gsv::SynthResult result = phone_ids.empty() ? engine->synthesize(*prepared, text, so, st)
                                                : engine->synthesize_phones(*prepared, {ids.target}, so, st);
    const auto t2 = std::chrono::steady_clock::now();

    Audio audio;
    audio.sample_rate = result.sample_rate;
    audio.samples = result.samples;
    if (writer && !stream) writer->write(audio.samples.data(), audio.samples.size());
    if (writer) writer->close();
    else write_wav(output, audio);
    if (!stream) first_audio_s = std::chrono::duration<double>(t2 - t1).count();
    if (!dump.empty()) write_dump(dump, result);

    const double prep_s = std::chrono::duration<double>(t1 - t0).count();
    const double synth_s = std::chrono::duration<double>(t2 - t1).count();
    const double seconds = audio.seconds();
    if (ctx.json) {
        nlohmann::json segs = nlohmann::json::array();
        for (const auto& s : result.segments) {
            at::Tensor tok = s.tokens.cpu().flatten().contiguous();
            std::vector<int64_t> tokens(tok.data_ptr<int64_t>(), tok.data_ptr<int64_t>() + tok.numel());
            segs.push_back({{"phones", s.phones.size()}, {"tokens", tokens}, {"stop", s1::to_string(s.stop)},
                            {"samples", s.audio.numel()}});
        }
        nlohmann::json out = {{"output", output},       {"sample_rate", audio.sample_rate}, {"samples", audio.samples.size()},
                              {"seconds", seconds},     {"segments", segs},                 {"load_s", prep_s},
                              {"synth_s", synth_s},     {"rtf", seconds > 0 ? synth_s / seconds : 0.0},
                              {"stream", stream},       {"first_audio_s", first_audio_s},
                              {"model", engine->describe()}};
        if (output == "-") fmt::print(stderr, "{}\n", out.dump());  // stdout carries the audio
        else print_json(out.dump());
    } else if (!ctx.quiet) {
        fmt::print(output == "-" ? stderr : stdout,
                   "{}: {:.2f} s of audio at {} Hz in {} segment(s); synthesis {:.2f} s (RTF {:.3f}), first audio after "
                   "{:.3f} s\n",
                   output == "-" ? "stdout" : output, seconds, audio.sample_rate, result.segments.size(), synth_s,
                   seconds > 0 ? synth_s / seconds : 0.0, first_audio_s);
    }
    return 0;
}

}  // namespace troupe::sovits::cli
