// prepare/pipeline.hpp — `troupe tts prepare`: upstream GPT-SoVITS's dataset preparation
// (prepare_datasets/1-get-text.py, 2-get-hubert-wav32k.py, 3-get-semantic.py + the webui's merge)
// in C++, writing upstream's files so either side can continue the other's work:
//
//   <out>/list.txt               wav|speaker|lang|text (the entries that passed the label checks)
//   <out>/2-name2text.txt        name\tphones (space-separated)\tword2ph ("None" for Korean)\tnorm_text
//   <out>/5-wav32k/<name>        16-bit PCM mono 32 kHz, upstream's loudness mix (0.95·0.5 peak-normalised + 0.5·raw)
//   <out>/4-cnhubert/<name>.pt   torch.save'd float32 tensor [1, H, F]: HuBERT last_hidden_state, channels first
//   <out>/6-name2semantic.tsv    "item_name\tsemantic_audio" header, then name\tcodes (S2 ssl_proj + VQ)
//   <out>/prepare-report.json    stage summaries and every skipped file with its reason
//
// name = base name of the wav path (as upstream). Every skipped utterance is reported (file, stage,
// reason); an utterance refused by one stage is not processed by the later ones.
#pragma once

#include "prepare/dataset_list.hpp"

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <string>
#include <vector>

namespace troupe::sovits::prepare {

struct PrepareOptions {
    std::string out_dir;
    /// Upstream's inp_wav_dir: when set, audio is read from <wav_dir>/<base name of the list path>.
    std::string wav_dir;
    /// HF HubertModel folder (chinese-hubert-base layout); empty: the hubert stage is not run.
    std::string hubert_dir;
    /// Pretrained S2 (.pth or .safetensors) whose ssl_proj + quantizer give the semantic codes; empty:
    /// the semantic stage is not run.
    std::string s2_path;
    std::string device = "cpu";
    /// Recompute 5-wav32k / 4-cnhubert files that already exist (upstream skips them).
    bool force = false;
    /// Called after each utterance of a stage.
    std::function<void(const std::string& stage, size_t done, size_t total)> progress;
};

struct StageSummary {
    std::string name;
    bool ran = false;
    std::string not_run;  // why the stage did not run (empty when it ran)
    size_t written = 0, reused = 0, skipped = 0;
    double seconds = 0;
};

struct PrepareReport {
    size_t utterances = 0;       // entries given (labels that parsed + list lines)
    double audio_seconds = 0;    // total duration of the audio written to 5-wav32k
    std::vector<StageSummary> stages;
    std::vector<Problem> problems;

    size_t skipped() const { return problems.size(); }
};

/// Runs every stage over `entries`. `problems` found earlier (labels, list lines) are carried into the
/// report. Throws Error only for whole-run failures (unwritable output folder, unloadable model, a
/// HuBERT whose width differs from S2's ssl_proj input); per-file trouble becomes a Problem.
PrepareReport run_prepare(const std::vector<ListEntry>& entries, const PrepareOptions& options,
                          std::vector<Problem> problems = {});

/// The report as JSON ({"utterances", "audio_seconds", "stages": [...], "skipped": [...]}).
nlohmann::json report_json(const PrepareReport& report);

/// True when this build can run the semantic stage (S2 compiled in).
bool semantic_stage_available();

/// Upstream's two audio mixes of 2-get-hubert-wav32k.py for a waveform `x` with peak `peak`:
/// x / peak · (0.95 · 0.5 · scale) + 0.5 · scale · x (scale 32768 for the saved 32 kHz file,
/// 1145.14 for the HuBERT input).
std::vector<float> loudness_mix(const std::vector<float>& x, float peak, float scale);

}  // namespace troupe::sovits::prepare
