#include "prepare/pipeline.hpp"

#include "prepare/torch_file.hpp"
#include "text/frontend.hpp"

#if TROUPE_PREPARE_HAS_S2
#include "s2/model.hpp"
#endif

#include <troupe/audio.hpp>
#include <troupe/ssl/encoder.hpp>
#include <troupe/ssl/hubert.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

namespace troupe::sovits::prepare {

namespace fs = std::filesystem;
namespace txt = troupe::sovits::text;

namespace {

constexpr int kRate32k = 32000;
constexpr float kMaxPeak = 2.2f;  // upstream: "%s-filtered" above this

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
    return s;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

// 16-bit PCM mono WAV with numpy's astype("int16") conversion (truncation toward zero); values
// beyond the int16 range are clamped (numpy would wrap them).
void write_pcm16(const std::string& path, const std::vector<float>& scaled, int rate) {
    std::vector<short> pcm(scaled.size());
    for (size_t i = 0; i < scaled.size(); ++i) {
        const float v = std::trunc(scaled[i]);
        pcm[i] = short(v > 32767.f ? 32767.f : v < -32768.f ? -32768.f : v);
    }
    const std::string tmp = path + ".tmp";
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
    if (!f) throw Error(Errc::runtime, fmt::format("{}: cannot write: {}", tmp, sf_strerror(nullptr)));
    const sf_count_t n = sf_write_short(f, pcm.data(), sf_count_t(pcm.size()));
    sf_close(f);
    if (n != sf_count_t(pcm.size())) throw Error(Errc::runtime, tmp + ": short write");
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) throw Error(Errc::runtime, fmt::format("{}: cannot rename into place: {}", path, ec.message()));
}

struct Item {
    const ListEntry* entry;
    std::string name;
    std::string wav_path;
};

}  // namespace

bool semantic_stage_available() { return TROUPE_PREPARE_HAS_S2 != 0; }

std::vector<float> loudness_mix(const std::vector<float>& x, float peak, float scale) {
    std::vector<float> out(x.size());
    const float a = 0.95f * 0.5f * scale / peak, b = 0.5f * scale;
    for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * a + b * x[i];
    return out;
}

namespace {

/// The state the stages share: where they write, the options, and the report they fill.
struct Stages {
    const fs::path out;
    const PrepareOptions& options;
    PrepareReport& report;
    void skip(const std::string& file, const std::string& stage, const std::string& reason) {
        report.problems.push_back({file, stage, reason});
    }
};

/// list: validates the entries, writes list.txt; returns the items to prepare (pointing into `listed`).
std::vector<Item> list_stage(Stages& S, const std::vector<ListEntry>& entries, std::vector<ListEntry>& listed) {
    const fs::path& out = S.out;
    const PrepareOptions& options = S.options;
    PrepareReport& report = S.report;
    auto skip = [&](const std::string& f, const std::string& st, const std::string& r) { S.skip(f, st, r); };
    std::vector<Item> items;
    {
        StageSummary st{"list"};
        st.ran = true;
        const auto t0 = std::chrono::steady_clock::now();
        std::map<std::string, std::string> names;  // name → source
        for (const ListEntry& e : entries) {
            const std::string where = e.source.empty() ? e.wav : e.source;
            std::string problem;
            for (const std::string* field : {&e.wav, &e.speaker, &e.language, &e.text})
                if (problem.empty() && !list_field_problem(*field).empty())
                    problem = fmt::format("field '{}' {}", *field, list_field_problem(*field));
            const std::string name = item_name(e.wav);
            if (problem.empty() && name.empty()) problem = "the wav path has no file name";
            if (problem.empty() && names.count(name))
                problem = fmt::format("item name '{}' already used by {} (upstream keys every file by its base name)",
                                      name, names[name]);
            if (!problem.empty()) {
                skip(where, "list", problem);
                ++st.skipped;
                continue;
            }
            names[name] = where;
            ListEntry norm = e;
            if (const std::string lang = normalize_language(e.language); !lang.empty()) norm.language = lang;
            listed.push_back(norm);
        }
        write_list((out / "list.txt").string(), listed);
        for (const ListEntry& e : listed) {
            std::string wav = options.wav_dir.empty() ? e.wav : (fs::path(options.wav_dir) / item_name(e.wav)).string();
            items.push_back({&e, item_name(e.wav), wav});
        }
        st.written = listed.size();
        st.seconds = seconds_since(t0);
        report.stages.push_back(st);
    }

    return items;
}

/// text: the Korean front-end's phones for each item, 2-name2text.txt; returns the items with text.
std::vector<Item> text_stage(Stages& S, const std::vector<Item>& items) {
    const fs::path& out = S.out;
    const PrepareOptions& options = S.options;
    PrepareReport& report = S.report;
    auto skip = [&](const std::string& f, const std::string& st, const std::string& r) { S.skip(f, st, r); };
    std::vector<Item> texted;
    {
        StageSummary st{"text"};
        st.ran = true;
        const auto t0 = std::chrono::steady_clock::now();
        const txt::KoreanFrontend frontend;
        const txt::SymbolTable& table = frontend.symbols();
        std::string content;
        for (size_t i = 0; i < items.size(); ++i) {
            const Item& it = items[i];
            const ListEntry& e = *it.entry;
            const std::string where = e.source.empty() ? e.wav : e.source;
            const std::string lang = normalize_language(e.language);
            if (lang != "ko") {
                skip(where, "text",
                     lang.empty() ? fmt::format("unknown language '{}'", e.language)
                                  : fmt::format("language '{}' has no C++ front-end (Korean only)", lang));
                ++st.skipped;
                continue;
            }
            try {
                const std::string norm_text = replace_all(replace_all(e.text, "%", "-"), "￥", ",");
                txt::KoreanStages stages = frontend.run(norm_text);
                for (std::string& ph : stages.phones)
                    if (!table.contains(ph)) ph = "UNK";
                if (stages.phones.empty()) throw Error(Errc::invalid_argument, "the text gives no phones");
                content += fmt::format("{}\t{}\tNone\t{}\n", it.name, join(stages.phones, " "), norm_text);
                texted.push_back(it);
                ++st.written;
            } catch (const std::exception& ex) {
                skip(where, "text", ex.what());
                ++st.skipped;
            }
            if (options.progress) options.progress("text", i + 1, items.size());
        }
        write_text_file((out / "2-name2text.txt").string(), content);
        st.seconds = seconds_since(t0);
        report.stages.push_back(st);
    }

    return texted;
}

/// wav32k + hubert: 5-wav32k/<name> (loudness-normalised 32 kHz) and 4-cnhubert/<name>.pt; returns the
/// items that have their audio (and features, when --hubert is given).
std::vector<Item> audio_stages(Stages& S, const std::vector<Item>& texted, const c10::Device& device) {
    const fs::path& out = S.out;
    const PrepareOptions& options = S.options;
    PrepareReport& report = S.report;
    auto skip = [&](const std::string& f, const std::string& st, const std::string& r) { S.skip(f, st, r); };
    std::error_code ec;
    const fs::path wav_dir = out / "5-wav32k", hubert_dir = out / "4-cnhubert";
    fs::create_directories(wav_dir);
    std::optional<ssl::Encoder> hubert;
    StageSummary wav_st{"wav32k"}, hub_st{"hubert"};
    wav_st.ran = true;
    if (options.hubert_dir.empty()) {
        hub_st.not_run = "needs --hubert DIR (a HubertModel folder: config.json + weights)";
    } else {
        hubert = ssl::Encoder::load_dir(options.hubert_dir, {device, at::kFloat});
        fs::create_directories(hubert_dir);
        hub_st.ran = true;
    }
    std::vector<Item> with_audio;
    {
        c10::NoGradGuard no_grad;
        for (size_t i = 0; i < texted.size(); ++i) {
            if (options.progress && i > 0) options.progress("audio", i, texted.size());
            const Item& it = texted[i];
            const std::string wav_out = (wav_dir / it.name).string();
            const std::string pt_out = (hubert_dir / (it.name + ".pt")).string();
            const bool have_wav = fs::is_regular_file(wav_out), have_pt = fs::is_regular_file(pt_out);
            if (!options.force && have_wav && (!hubert || have_pt)) {
                ++wav_st.reused;
                if (hubert) ++hub_st.reused;
                try {
                    report.audio_seconds += read_wav(wav_out).seconds();
                } catch (const std::exception&) {
                }
                with_audio.push_back(it);
                continue;
            }
            auto t0 = std::chrono::steady_clock::now();
            std::vector<float> x;
            float peak = 0;
            try {
                Audio audio = read_wav(it.wav_path);
                x = ssl::resample(audio.samples, audio.sample_rate, kRate32k);
                for (float v : x) peak = std::max(peak, std::abs(v));
                if (!std::isfinite(peak)) throw Error(Errc::invalid_file, "the audio holds NaN or infinite samples");
                if (peak > kMaxPeak) throw Error(Errc::invalid_file, fmt::format("peak {:.3f} > 2.2 (upstream filters it)", peak));
                if (peak == 0) throw Error(Errc::invalid_file, "the audio is silent (all samples zero)");
                write_pcm16(wav_out, loudness_mix(x, peak, 32768.f), kRate32k);
                report.audio_seconds += double(x.size()) / kRate32k;
                ++wav_st.written;
            } catch (const std::exception& ex) {
                std::string msg = ex.what();
                skip(it.wav_path, "wav32k", msg);
                ++wav_st.skipped;
                wav_st.seconds += seconds_since(t0);
                continue;
            }
            wav_st.seconds += seconds_since(t0);
            if (!hubert) {
                with_audio.push_back(it);
                continue;
            }
            t0 = std::chrono::steady_clock::now();
            try {
                const std::vector<float> x16 = ssl::resample(loudness_mix(x, peak, 1145.14f), kRate32k, 16000);
                const at::Tensor ssl = ssl::hubert_features(*hubert, x16, {/*append_silence=*/false, /*normalize=*/false})
                                           .transpose(1, 2).to(at::kCPU, at::kFloat).contiguous();
                if (at::isnan(ssl).any().item<bool>()) throw Error(Errc::runtime, "HuBERT output has NaN (upstream: nan filtered)");
                save_tensor_pt(pt_out, ssl);
                ++hub_st.written;
                with_audio.push_back(it);
            } catch (const std::exception& ex) {
                skip(it.wav_path, "hubert", ex.what());
                ++hub_st.skipped;
                fs::remove(wav_out, ec);  // upstream writes the wav only with its features
                --wav_st.written;
                report.audio_seconds -= double(x.size()) / kRate32k;
            }
            hub_st.seconds += seconds_since(t0);
        }
    }
    if (options.progress && !texted.empty()) options.progress("audio", texted.size(), texted.size());
    report.stages.push_back(wav_st);
    report.stages.push_back(hub_st);

    return with_audio;
}

/// semantic: the S2 model's codes of each item's HuBERT features, 6-name2semantic.tsv.
void semantic_stage(Stages& S, const std::vector<Item>& with_audio, const c10::Device& device) {
    const fs::path& out = S.out;
    const fs::path hubert_dir = out / "4-cnhubert";
    const PrepareOptions& options = S.options;
    PrepareReport& report = S.report;
    auto skip = [&](const std::string& f, const std::string& st, const std::string& r) { S.skip(f, st, r); };
    (void)skip;
    (void)hubert_dir;
    StageSummary sem{"semantic"};
    if (options.s2_path.empty()) {
        sem.not_run = "needs --s2 FILE (the pretrained S2 .pth whose ssl_proj + quantizer give the codes)";
    } else if (!semantic_stage_available()) {
        sem.not_run = "this build has no S2 model code (troupe_sovits); rebuild with it";
    } else {
#if TROUPE_PREPARE_HAS_S2
        sem.ran = true;
        const auto t0 = std::chrono::steady_clock::now();
        const s2::S2Model model = s2::S2Model::load(options.s2_path, device);
        c10::NoGradGuard no_grad;
        std::string content = "item_name\tsemantic_audio\n";
        for (size_t i = 0; i < with_audio.size(); ++i) {
            const Item& it = with_audio[i];
            const std::string pt = (hubert_dir / (it.name + ".pt")).string();
            if (!fs::is_regular_file(pt)) {
                skip(it.wav_path, "semantic", fmt::format("no HuBERT features {} (run with --hubert)", pt));
                ++sem.skipped;
                continue;
            }
            at::Tensor ssl;
            try {
                ssl = load_tensor_pt(pt);
                if (ssl.dim() != 3 || ssl.size(0) != 1) throw Error(Errc::invalid_file, pt + ": expected a [1, H, F] tensor");
            } catch (const std::exception& ex) {
                skip(pt, "semantic", ex.what());
                ++sem.skipped;
                continue;
            }
            if (ssl.size(1) != model.config().ssl_dim)
                throw Error(Errc::invalid_argument,
                            fmt::format("{}: HuBERT features have {} channels but the S2 model {} expects {} "
                                        "(a different HuBERT than the one this S2 was trained with?)",
                                        pt, ssl.size(1), options.s2_path, model.config().ssl_dim));
            const at::Tensor codes = model.extract_latent(ssl.to(device, at::kFloat)).to(at::kCPU, at::kLong);
            std::string line = it.name + "\t";
            const auto acc = codes.accessor<int64_t, 3>();
            for (int64_t t = 0; t < codes.size(2); ++t) line += (t ? " " : "") + std::to_string(acc[0][0][t]);
            content += line + "\n";
            ++sem.written;
            if (options.progress) options.progress("semantic", i + 1, with_audio.size());
        }
        write_text_file((out / "6-name2semantic.tsv").string(), content);
        sem.seconds = seconds_since(t0);
#endif
    }
    report.stages.push_back(sem);

}

}  // namespace

PrepareReport run_prepare(const std::vector<ListEntry>& entries, const PrepareOptions& options,
                          std::vector<Problem> problems) {
    if (options.out_dir.empty()) throw Error(Errc::invalid_argument, "prepare: no output folder");
    const fs::path out(options.out_dir);
    std::error_code ec;
    fs::create_directories(out, ec);
    if (!fs::is_directory(out)) throw Error(Errc::runtime, fmt::format("{}: cannot create the output folder", out.string()));

    PrepareReport report;
    report.utterances = entries.size();
    report.problems = std::move(problems);
    Stages stages{out, options, report};
    const c10::Device device(options.device);
    std::vector<ListEntry> listed;
    const std::vector<Item> items = list_stage(stages, entries, listed);
    const std::vector<Item> texted = text_stage(stages, items);
    const std::vector<Item> with_audio = audio_stages(stages, texted, device);
    semantic_stage(stages, with_audio, device);
    write_text_file((out / "prepare-report.json").string(), report_json(report).dump(2) + "\n");
    return report;
}

nlohmann::json report_json(const PrepareReport& report) {
    nlohmann::json stages = nlohmann::json::array();
    for (const StageSummary& s : report.stages) {
        nlohmann::json j = {{"stage", s.name}, {"ran", s.ran}};
        if (s.ran) {
            j["written"] = s.written;
            j["reused"] = s.reused;
            j["skipped"] = s.skipped;
            j["seconds"] = s.seconds;
        } else {
            j["not_run"] = s.not_run;
        }
        stages.push_back(std::move(j));
    }
    nlohmann::json skipped = nlohmann::json::array();
    for (const Problem& p : report.problems) skipped.push_back({{"file", p.file}, {"stage", p.stage}, {"reason", p.reason}});
    return {{"utterances", report.utterances}, {"audio_seconds", report.audio_seconds}, {"stages", std::move(stages)},
            {"skipped", std::move(skipped)}};
}

}  // namespace troupe::sovits::prepare
