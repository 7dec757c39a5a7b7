// troupe tts prepare: AI Hub-style labels + audio (or an upstream list) → GPT-SoVITS training files.
#include "tts_commands.hpp"

#include <prepare/aihub.hpp>
#include <prepare/pipeline.hpp>

#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

namespace troupe::sovits::cli {
using kit::parse_options;
using kit::print_json;
namespace po = boost::program_options;
namespace prep = troupe::sovits::prepare;

int prepare(const std::vector<std::string>& args, const CommandContext& ctx) {
    po::options_description options("troupe tts prepare");
    std::string aihub, list, out, wav_dir, hubert, s2, device = "cpu", language = "ko", speaker, dual = "pronounced";
    options.add_options()
        ("aihub", po::value(&aihub), "AI Hub-style corpus folder (TL_*/VL_* JSON labels, TS_*/VS_* audio)")
        ("list", po::value(&list), "or an upstream list file (wav|speaker|lang|text) instead of --aihub")
        ("out,o", po::value(&out)->required(), "output folder (upstream's logs/<exp>/ layout)")
        ("wav-dir", po::value(&wav_dir), "read audio from DIR/<base name> (upstream's inp_wav_dir)")
        ("hubert", po::value(&hubert), "HubertModel folder (chinese-hubert-base) → 4-cnhubert/*.pt")
        ("s2", po::value(&s2), "pretrained S2 .pth/.safetensors → 6-name2semantic.tsv (needs 4-cnhubert)")
        ("device", po::value(&device), "cpu (default) or cuda[:N]")
        ("language", po::value(&language), "language code written for --aihub entries (default ko)")
        ("speaker", po::value(&speaker), "speaker for labels that name none (default: the label's folder name)")
        ("dual", po::value(&dual), "dual transcription (A)/(B): pronounced (default), first, second")
        ("force", "recompute 5-wav32k/4-cnhubert files that already exist")
        ("keep-going", "exit 0 even if files were skipped (they are still reported)");
    po::variables_map vm;
    if (!parse_options("troupe tts prepare (--aihub DIR | --list FILE) -o OUT [--hubert DIR] [--s2 FILE] [--json]",
                       options, args, vm))
        return 0;
    if (aihub.empty() == list.empty()) throw Error(Errc::invalid_argument, "give exactly one of --aihub DIR and --list FILE");

    std::vector<prep::ListEntry> entries;
    std::vector<prep::Problem> problems;
    if (!aihub.empty()) {
        prep::AihubOptions ao;
        ao.language = language;
        ao.default_speaker = speaker;
        ao.dual = prep::parse_dual_transcript(dual);
        prep::AihubScan scan = prep::scan_aihub(aihub, ao);
        if (!ctx.quiet && !ctx.json)
            fmt::print(stderr, "labels: {} label folders, {} labels, {} audio files → {} utterances\n",
                       scan.label_folders, scan.labels, scan.audio_files, scan.entries.size());
        entries = std::move(scan.entries);
        problems = std::move(scan.problems);
    } else {
        entries = prep::read_list(list, problems);
    }

    prep::PrepareOptions po_;
    po_.out_dir = out;
    po_.wav_dir = wav_dir;
    po_.hubert_dir = hubert;
    po_.s2_path = s2;
    po_.device = device;
    po_.force = vm.count("force") > 0;
    std::unique_ptr<kit::Progress> bar;
    std::string bar_stage;
    po_.progress = [&](const std::string& stage, size_t done, size_t total) {
        if (ctx.quiet) return;
        if (stage != bar_stage) {
            if (bar) bar->done();
            bar = std::make_unique<kit::Progress>(stage, total);
            bar_stage = stage;
        }
        bar->step();
        if (done == total) bar->done();
    };
    const prep::PrepareReport report = prep::run_prepare(entries, po_, std::move(problems));
    if (bar) bar->done();

    for (const prep::Problem& p : report.problems)
        if (!ctx.quiet) fmt::print(stderr, "skipped [{}] {}: {}\n", p.stage, p.file, p.reason);
    if (ctx.json) {
        nlohmann::json j = prep::report_json(report);
        j["out"] = out;
        print_json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
        fmt::print("{} utterances, {:.1f} s of audio → {}\n", report.utterances, report.audio_seconds, out);
        for (const prep::StageSummary& s : report.stages) {
            if (s.ran)
                fmt::print("  {:<9} {} written, {} reused, {} skipped ({:.2f} s)\n", s.name, s.written, s.reused,
                           s.skipped, s.seconds);
            else
                fmt::print("  {:<9} not run: {}\n", s.name, s.not_run);
        }
        fmt::print("{} skipped file(s){}\n", report.skipped(),
                   report.skipped() ? " (listed above and in prepare-report.json)" : "");
    }
    return report.skipped() > 0 && !vm.count("keep-going") ? 1 : 0;
}

}  // namespace troupe::sovits::cli
