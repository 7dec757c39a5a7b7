// troupe/eval/runner.hpp — runs a suite's cases through each character's text and speech backends,
// scores them with the configured transcriber / speaker-encoder / quality plugins, and journals every
// case as it finishes (cases.jsonl in the output folder). A killed run resumes from the journal.
// Text cases (independent of each other) are generated in batches through troupe::generate_batch
// when their backend offers BatchTextBackend: each case of a batch is journaled when the batch
// returns, so a run killed mid-batch reruns that batch's cases only (eval/README.md, "Batches").
#pragma once

#include <troupe/eval/suite.hpp>
#include <troupe/host.hpp>

#include <functional>
#include <string>

namespace troupe::eval {

struct RunOptions {
    std::string out_dir;
    bool fresh = false;         // discard an existing journal
    bool retry_failed = false;  // rerun cases journaled as failed/skipped
    size_t limit = 0;           // run at most this many new cases (0 = all)
    int batch_size = 0;         // text cases per batch, 1–64 (0 = the suite's text.batch_size)
    std::function<void(size_t done, size_t total, const std::string& id)> progress;
};

struct RunSummary {
    size_t total = 0, already_done = 0, ran = 0, failed = 0;
    bool interrupted = false;
    std::vector<std::string> notes;
};

/// The configuration hash of a suite as run on this host (suite + the characters' resolved settings).
std::string config_hash(const Suite& suite, const Host& host);

RunSummary run_suite(const Suite& suite, const Host& host, const RunOptions& options);

/// A stable file name for a case id ("bujang/scenario-1/speech" → "bujang_scenario-1_speech").
std::string case_file_stem(const std::string& id);

}  // namespace troupe::eval
