// troupe voice train CHARACTER --clips DIR: a character's own GPT-SoVITS voice in one command —
// prepare (the library `tts prepare` uses), S1 then S2 fine-tuning (the trainers `train s1` / `train s2`
// use), then the exported weights, a reference clip, its transcript and prompt codes (and one per
// emotion when the AI Hub labels give emotions: [[speech.emotions]]) go into the character's folder and
// its character.toml [speech] section is rewritten atomically (old file kept as character.toml.bak).
// docs/voice-training.md.
#include "tts_commands.hpp"

#include <prepare/aihub.hpp>
#include <prepare/pipeline.hpp>

#include "train/s1_trainer.hpp"
#include "train/s2_trainer.hpp"

#include <troupe/audio.hpp>
#include <troupe/kit/file.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/kit/toml.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace troupe::sovits::cli {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;
namespace prep = troupe::sovits::prepare;
namespace tr = troupe::sovits::train;

struct VoiceTrainOptions {
    std::string character, clips, s1, s2, s2d, hubert, recipe = "upstream", output, device = "cpu", language = "ko";
    int64_t max_steps = 0, batch_size = 0;
    bool no_resume = false;
};

/// Throws unless `folder` accepts new files (a probe file is created and removed).
void require_writable(const std::string& folder) {
    const fs::path probe = fs::path(folder) / ".voice-train-probe";
    {
        std::ofstream out(probe);
        if (!out) throw Error(Errc::invalid_argument, fmt::format("{}: the character folder is not writable", folder));
    }
    std::error_code ec;
    fs::remove(probe, ec);
    const fs::path toml = fs::path(folder) / "character.toml";
    std::ofstream probe_toml(toml, std::ios::app);
    if (!probe_toml) throw Error(Errc::invalid_argument, fmt::format("{}: is not writable", toml.string()));
}

/// The clips' entries: DIR/list.txt (upstream list) when present, else AI Hub labels under DIR.
std::vector<prep::ListEntry> read_clips(const VoiceTrainOptions& o, std::vector<prep::Problem>& problems,
                                        const CommandContext& ctx) {
    if (!fs::is_directory(o.clips)) throw Error(Errc::not_found, fmt::format("{}: no such clips folder", o.clips));
    std::vector<prep::ListEntry> entries;
    const fs::path list = fs::path(o.clips) / "list.txt";
    if (fs::exists(list)) {
        entries = prep::read_list(list.string(), problems);
    } else {
        prep::AihubOptions ao;
        ao.language = o.language;
        ao.default_speaker = o.character;
        prep::AihubScan scan;
        try {
            scan = prep::scan_aihub(o.clips, ao);
        } catch (const Error& e) {
            throw Error(Errc::not_found, fmt::format("no labelled clips: no list.txt and {}", e.what()));
        }
        entries = std::move(scan.entries);
        problems = std::move(scan.problems);
    }
    if (entries.empty())
        throw Error(Errc::not_found, fmt::format("{}: no labelled clips (neither list.txt nor AI Hub JSON labels with audio)", o.clips));
    if (!ctx.quiet) fmt::print(stderr, "[1/4] prepare: {} clips from {}\n", entries.size(), o.clips);
    return entries;
}

/// Item name → emotion, for the clips whose labels give one.
using Emotions = std::map<std::string, std::string>;

/// Stage 1: the training files under <work>/data (reused on a rerun), and the clips' emotions.
std::string prepare_data(const VoiceTrainOptions& o, const std::string& work, const CommandContext& ctx, Emotions& emotions) {
    std::vector<prep::Problem> problems;
    const std::vector<prep::ListEntry> entries = read_clips(o, problems, ctx);
    for (const prep::ListEntry& e : entries)
        if (!e.emotion.empty()) emotions[prep::item_name(e.wav)] = e.emotion;
    prep::PrepareOptions po_;
    po_.out_dir = work + "/data";
    po_.hubert_dir = o.hubert;
    po_.s2_path = o.s2;
    po_.device = o.device;
    const prep::PrepareReport report = prep::run_prepare(entries, po_, std::move(problems));
    for (const prep::Problem& p : report.problems)
        if (!ctx.quiet) fmt::print(stderr, "  skipped [{}] {}: {}\n", p.stage, p.file, p.reason);
    if (!fs::exists(po_.out_dir + "/6-name2semantic.tsv"))
        throw Error(Errc::invalid_argument,
                    fmt::format("{}: no semantic codes were prepared (give --hubert DIR or set model.hubert)", po_.out_dir));
    if (!ctx.quiet)
        fmt::print(stderr, "  {} utterances, {:.1f} s of audio, {} skipped\n", report.utterances, report.audio_seconds,
                   report.skipped());
    return po_.out_dir;
}

/// The weights of a stage's run in `dir`: the file it exported last or, when it resumed a run that had
/// nothing left to train (the same command again), the newest export already there — a regular file
/// named `prefix`…`ext` (the trainer's own export names).
std::string last_export(const std::vector<std::string>& exported, bool resumed, const std::string& dir,
                        const std::string& prefix, const std::string& ext, const char* what) {
    if (!exported.empty()) return exported.back();
    std::string newest;
    fs::file_time_type newest_time{};
    std::error_code ec;
    if (resumed)
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            const std::string name = e.path().filename().string();
            if (!e.is_regular_file(ec) || e.is_symlink(ec) || name.size() <= prefix.size() + ext.size() ||
                name.compare(0, prefix.size(), prefix) != 0 || name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
                continue;
            const auto t = e.last_write_time(ec);
            if (!ec && (newest.empty() || t > newest_time)) newest = e.path().string(), newest_time = t;
        }
    if (newest.empty())
        throw Error(Errc::runtime, fmt::format("{}: the {} run exported no weights (use --no-resume to train again)", dir, what));
    return newest;
}

/// Stage 2: S1 fine-tuning; returns the exported .ckpt ("" when interrupted).
std::string run_s1(const VoiceTrainOptions& o, const std::string& data, const std::string& work, const CommandContext& ctx) {
    tr::S1TrainConfig c;
    c.data_dir = data;
    c.pretrained = o.s1;
    c.device = o.device;
    c.output_dir = work + "/s1";
    c.exp_name = o.character;
    if (o.recipe == "seed") {
        c.epochs = 300;
        c.batch_size = 8;
        c.accumulate = 32;
    }
    if (o.batch_size > 0) c.batch_size = o.batch_size;
    c.max_steps = o.max_steps;
    c.resume = !o.no_resume;
    if (!ctx.quiet) fmt::print(stderr, "[2/4] S1: {} epochs, batch {}, accumulation {} → {}\n", c.epochs, c.batch_size, c.accumulate, c.output_dir);
    tr::S1TrainHooks hooks;
    hooks.log = [&](const std::string& line) {
        if (!ctx.quiet) fmt::print(stderr, "  {}\n", line);
    };
    hooks.should_stop = [&] { return ctx.cancelled(); };
    const tr::S1TrainResult r = tr::train_s1(c, hooks);
    return r.interrupted ? std::string() : last_export(r.exported, r.resumed, c.output_dir, c.exp_name + "-e", ".ckpt", "S1");
}

/// Stage 3: S2 fine-tuning; returns the exported .pth ("" when interrupted).
std::string run_s2(const VoiceTrainOptions& o, const std::string& data, const std::string& work, const CommandContext& ctx) {
    tr::S2TrainConfig c;
    c.data_dir = data;
    c.pretrained_g = o.s2;
    c.pretrained_d = o.s2d;
    c.device = o.device;
    c.output_dir = work + "/s2";
    c.exp_name = o.character;
    if (o.batch_size > 0) c.batch_size = o.batch_size;
    c.max_steps = o.max_steps;
    c.resume = !o.no_resume;
    if (!ctx.quiet) fmt::print(stderr, "[3/4] S2: {} epochs, batch {} → {}\n", c.epochs, c.batch_size, c.output_dir);
    tr::S2TrainHooks hooks;
    hooks.log = [&](const std::string& line) {
        if (!ctx.quiet) fmt::print(stderr, "  {}\n", line);
    };
    hooks.should_stop = [&] { return ctx.cancelled(); };
    const tr::S2TrainResult r = tr::train_s2(c, hooks);
    return r.interrupted ? std::string() : last_export(r.exported, r.resumed, c.output_dir, c.exp_name + "_e", ".pth", "S2");
}

struct Reference {
    std::string wav, text, codes;  // 5-wav32k file, transcript, semantic codes (space separated)
    double seconds = 0;
};

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream in(line);
    for (std::string col; std::getline(in, col, '\t');) out.push_back(col);
    return out;
}

/// The reference clips, by emotion ("" = the default, over all clips; one per emotion in `emotions`):
/// a prepared utterance with codes, 3–10 s and nearest 6 s (else the longest under 10 s).
std::map<std::string, Reference> pick_references(const std::string& data, const Emotions& emotions) {
    std::map<std::string, std::string> text, codes;
    for (std::istringstream in(kit::read_file(data + "/2-name2text.txt")); !in.eof();) {
        std::string line;
        std::getline(in, line);
        const auto cols = split_tabs(line);
        if (cols.size() == 4) text[cols[0]] = cols[3];
    }
    for (std::istringstream in(kit::read_file(data + "/6-name2semantic.tsv")); !in.eof();) {
        std::string line;
        std::getline(in, line);
        const auto cols = split_tabs(line);
        if (cols.size() == 2 && cols[0] != "item_name") codes[cols[0]] = cols[1];
    }
    std::map<std::string, Reference> best;
    auto score = [](double s) { return s >= 3 && s <= 10 ? std::abs(s - 6) : s <= 10 ? 100 - s : 1e9; };
    for (const auto& [name, c] : codes) {
        const std::string wav = data + "/5-wav32k/" + name;
        if (!text.count(name) || !fs::exists(wav)) continue;
        const Reference candidate{wav, text[name], c, read_wav(wav).seconds()};
        const auto emotion = emotions.find(name);
        for (const std::string& key : {std::string(), emotion == emotions.end() ? std::string() : emotion->second}) {
            Reference& b = best[key];
            if (b.wav.empty() || score(candidate.seconds) < score(b.seconds)) b = candidate;
        }
    }
    if (best[""].wav.empty()) throw Error(Errc::invalid_file, fmt::format("{}: no prepared utterance has text, audio and codes", data));
    return best;
}

/// Copies `from` to `to` through a temporary file and a rename.
void copy_atomic(const std::string& from, const std::string& to) {
    const std::string tmp = to + ".tmp";
    std::error_code ec;
    fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, to, ec);
    if (ec) throw Error(Errc::runtime, fmt::format("{}: cannot write: {}", to, ec.message()));
}

std::string toml_string(const std::string& s) {
    std::string out = "\"";
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\', out += ch;
        else if (ch == '\n') out += "\\n";
        else if (ch == '\t') out += "\\t";
        else if (static_cast<unsigned char>(ch) < 0x20) out += fmt::format("\\u{:04x}", int(ch));
        else out += ch;
    }
    return out + "\"";
}

/// The table name of a header line ("[speech.voice]" → "speech.voice"), "" if the line is no header.
std::string header_name(const std::string& line) {
    const size_t a = line.find_first_not_of(" \t");
    if (a == std::string::npos || line[a] != '[') return "";
    const size_t b = line.find_first_not_of("[ \t", a), e = line.find(']', a);
    return b == std::string::npos || e == std::string::npos || e < b ? "" : line.substr(b, line.find_last_not_of(" \t", e - 1) - b + 1);
}

/// character.toml with every [speech…] table replaced by `speech` (at the first one's place); the rest,
/// comments included, is kept line for line.
std::string replace_speech(const std::string& old_toml, const std::string& speech) {
    std::istringstream in(old_toml);
    std::string out, line;
    bool in_speech = false, written = false;
    while (std::getline(in, line)) {
        const std::string name = header_name(line);
        if (!name.empty()) in_speech = name == "speech" || name.rfind("speech.", 0) == 0;
        if (in_speech) {
            if (!written) out += speech, written = true;
            continue;
        }
        out += line + "\n";
    }
    if (!written) out += "\n" + speech;
    return out;
}

/// Copies a reference clip, its transcript and codes to voice/<stem>.wav/.txt/.codes.
void install_reference(const fs::path& voice, const std::string& stem, const Reference& ref) {
    copy_atomic(ref.wav, (voice / (stem + ".wav")).string());
    kit::write_file((voice / (stem + ".txt")).string(), ref.text + "\n");
    kit::write_file((voice / (stem + ".codes")).string(), ref.codes + "\n");
}

/// Stage 4: weights, reference clips (default and per emotion), transcripts and codes into
/// <folder>/voice/, then character.toml.
void install_voice(const std::string& folder, const std::string& s1, const std::string& s2,
                   const std::map<std::string, Reference>& refs, const CommandContext& ctx) {
    const fs::path voice = fs::path(folder) / "voice";
    fs::create_directories(voice);
    copy_atomic(s1, (voice / "s1.ckpt").string());
    copy_atomic(s2, (voice / "s2.pth").string());
    const Reference& ref = refs.at("");
    install_reference(voice, "ref", ref);

    std::string speech = "[speech]\nbackend = \"gpt-sovits\"\n\n[speech.voice]  # written by `troupe voice train`\n"
                         "s1_file = \"voice/s1.ckpt\"\ns2_file = \"voice/s2.pth\"\n"
                         "reference_audio = \"voice/ref.wav\"\nreference_text = " + toml_string(ref.text) + "\n"
                         "prompt_codes_file = \"voice/ref.codes\"\n\n";
    size_t n = 0;
    for (const auto& [emotion, eref] : refs) {
        if (emotion.empty()) continue;
        const std::string stem = fmt::format("ref-emotion{}", ++n);  // numbered: emotions may be any text (기쁨)
        install_reference(voice, stem, eref);
        speech += "[[speech.emotions]]\nemotion = " + toml_string(emotion) + "\nreference_audio = \"voice/" + stem +
                  ".wav\"\nreference_text = " + toml_string(eref.text) + "\nprompt_codes_file = \"voice/" + stem + ".codes\"\n\n";
    }
    const std::string path = folder + "/character.toml";
    const std::string old_toml = kit::read_file(path);
    const std::string new_toml = replace_speech(old_toml, speech);
    try {  // never leave a character.toml the loader would refuse
        const toml::table t = toml::parse(new_toml, path);
        if (t["speech"]["backend"].value_or(std::string()) != "gpt-sovits") throw std::runtime_error("[speech] not replaced");
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: cannot rewrite its [speech] section ({}); left unchanged", path, e.what()));
    }
    kit::write_file(path + ".bak", old_toml);
    kit::write_file(path, new_toml);  // temporary file + rename
    if (!ctx.quiet) fmt::print(stderr, "[4/4] {}: speech = gpt-sovits (old file: character.toml.bak)\n", path);
}

VoiceTrainOptions parse(const std::vector<std::string>& args, const CommandContext& ctx, bool& help) {
    VoiceTrainOptions o;
    po::options_description options("troupe voice train");
    options.add_options()
        ("character", po::value(&o.character)->required(), "character id or name (its folder receives the voice)")
        ("clips", po::value(&o.clips)->required(), "clips folder: list.txt (wav|speaker|lang|text) or AI Hub labels + audio")
        ("s1", po::value(&o.s1), "pretrained S1 .ckpt (default: the plugin's model.s1)")
        ("s2", po::value(&o.s2), "pretrained S2 generator .pth (default: the plugin's model.s2)")
        ("s2d", po::value(&o.s2d), "pretrained S2 discriminator .pth (optional)")
        ("hubert", po::value(&o.hubert), "chinese-hubert-base folder (default: the plugin's model.hubert)")
        ("recipe", po::value(&o.recipe), "upstream (WebUI defaults: S1 15, S2 8 epochs) or seed (S1 300 epochs, batch 8, accumulation 32)")
        ("output,o", po::value(&o.output), "work folder for prepared data and runs (default voice-train/<id>)")
        ("device", po::value(&o.device), "cpu (default) or cuda[:N]")
        ("batch-size", po::value(&o.batch_size), "override the batch size of both stages")
        ("max-steps", po::value(&o.max_steps), "stop each stage after N optimizer steps (tests)")
        ("language", po::value(&o.language), "language of AI Hub labels (default ko)")
        ("no-resume", po::bool_switch(&o.no_resume), "start the runs over instead of continuing them");
    po::positional_options_description positional;
    positional.add("character", 1);
    po::variables_map vm;
    help = !kit::parse_options("troupe voice train CHARACTER --clips DIR [--s1 CKPT --s2 PTH] [--recipe seed|upstream] [--output DIR]",
                               options, args, vm, &positional);
    if (help) return o;
    if (o.recipe != "upstream" && o.recipe != "seed")
        throw Error(Errc::invalid_argument, fmt::format("--recipe '{}': use upstream or seed", o.recipe));
    const kit::ParamReader p("gpt-sovits", ctx.params());
    if (o.s1.empty()) o.s1 = p.path("model.s1");
    if (o.s2.empty()) o.s2 = p.path("model.s2");
    if (o.hubert.empty()) o.hubert = p.path("model.hubert");
    if (o.s1.empty() || o.s2.empty()) throw Error(Errc::invalid_argument, "give --s1 and --s2 (or set model.s1 / model.s2)");
    for (const std::string* f : {&o.s1, &o.s2})
        if (!fs::exists(*f)) throw Error(Errc::not_found, fmt::format("{}: no such pretrained checkpoint", *f));
    return o;
}

}  // namespace

int voice_train(const std::vector<std::string>& args, const CommandContext& ctx) {
    bool help = false;
    VoiceTrainOptions o = parse(args, ctx, help);
    if (help) return 0;
    const std::string folder = ctx.character_folder(o.character);  // not_found (4) for an unknown id
    require_writable(folder);
    o.character = fs::path(folder).filename().string();
    const std::string work = o.output.empty() ? "voice-train/" + o.character : o.output;
    fs::create_directories(work);

    Emotions emotions;
    const std::string data = prepare_data(o, work, ctx, emotions);
    const std::string s1 = ctx.cancelled() ? "" : run_s1(o, data, work, ctx);
    const std::string s2 = s1.empty() || ctx.cancelled() ? "" : run_s2(o, data, work, ctx);
    if (s2.empty()) {
        fmt::print(stderr, "stopped; the character is unchanged. Rerun the same command to continue ({}).\n", work);
        return 130;
    }
    const std::map<std::string, Reference> refs = pick_references(data, emotions);
    const Reference& ref = refs.at("");
    nlohmann::json emotion_refs = nlohmann::json::object();
    for (const auto& [emotion, r] : refs) {
        if (!ctx.quiet && (r.seconds < 3 || r.seconds > 10))
            fmt::print(stderr, "  note: {}reference clip is {:.2f} s (GPT-SoVITS prefers 3–10 s)\n",
                       emotion.empty() ? "" : "'" + emotion + "' ", r.seconds);
        if (!emotion.empty()) emotion_refs[emotion] = r.wav;
    }
    install_voice(folder, s1, s2, refs, ctx);
    if (ctx.json)
        kit::print_json(nlohmann::json{{"character", o.character}, {"folder", folder}, {"s1", s1}, {"s2", s2}, {"reference", ref.wav},
                                       {"reference_text", ref.text}, {"reference_seconds", ref.seconds}, {"emotions", emotion_refs}, {"work", work}}
                            .dump(2));
    else
        fmt::print("{}: new voice in {}/voice (S1 {}, S2 {})\n", o.character, folder, s1, s2);
    return 0;
}

}  // namespace troupe::sovits::cli
