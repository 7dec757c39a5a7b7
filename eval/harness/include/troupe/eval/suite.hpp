// troupe/eval/suite.hpp — an eval suite (eval/suites/*.toml) and the deterministic list of cases it
// expands to. See eval/README.md for the file format.
#pragma once

#include <troupe/host.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::eval {

struct VoiceSentence {
    std::string id, text, kind;  // kind: short | numbers | mixed | long | ...
};

/// `text.batch_size`: default and largest value (`troupe eval --batch-size` overrides).
constexpr int kDefaultBatchSize = 8, kMaxBatchSize = 64;

struct Suite {
    std::string name, description, path;
    // text
    bool text = false;
    std::vector<std::string> text_characters;  // ids; empty = every character
    bool character_scenarios = true;           // the characters' [[eval.scenarios]]
    std::string persona_dataset;               // JSONL of persona examples (test split); "" = none
    bool persona_required = false;             // false: skip gracefully when the file is absent
    int repeats = 1;
    uint64_t seed = 0;                         // added to each character's sampling seed per repeat
    bool greedy = false;
    int max_new_tokens = 0;                    // 0 = the character's
    bool speak_lines = false;                  // also voice every generated line
    double latency_limit_s = 30;
    /// Most text cases decoded in one batch (1–64; 1 = one by one) when the text backend offers
    /// BatchTextBackend. Not part of the config hash: a case's line does not depend on it.
    int batch_size = kDefaultBatchSize;
    // voice
    std::vector<std::string> voice_characters;  // ids; empty = every character (when sentences exist)
    std::vector<VoiceSentence> sentences;
    std::vector<std::string> enrollment;        // sentences synthesised to enroll a voice without reference audio
    double long_form_min_s = 30;
    // scorers: plugin names; "auto" = the first loaded plugin of the kind, "" = none
    std::string transcriber = "auto", speaker_encoder = "auto";
    std::vector<std::string> quality = {"auto"};
    std::string similarity_calibration;         // JSON (cosine → MOS-S points); "" = no MOS-S
    std::string copy_training;                  // JSONL with the training lines ("output" field)
    double copy_threshold = 0.8;

    nlohmann::json to_json() const;             // canonical form (hashed into the config hash)
};

/// Parses a suite file; relative paths resolve against the repository root (source_dir()) when they
/// exist there, else against the suite file's folder, and must resolve (symlinks followed) inside one
/// of those two. Sizes and counts have documented ranges (docs/cli.md, "Limits"); a suite without any
/// case is an error. Throws Error(invalid_file) with file:line:col.
Suite load_suite(const std::string& path);

/// Checks the suite against the host: every scorer it names is a plugin of the right kind (a
/// failed one is reported later as unavailable). Throws Error(not_found / invalid_file).
void check_suite(const Suite& suite, const Host& host);

/// One unit of work, journaled under its unique `id`.
struct CaseSpec {
    std::string id;
    std::string type;          // text | speech (voice of a text case) | voice | enroll
    std::string character;     // id
    std::string group;         // situation / sentence kind (folds of the distinctiveness test)
    std::string situation, action;
    std::string text;          // voice/enroll: the sentence; speech: filled from the text case
    std::string reference;     // persona dataset: the human line
    std::string kind;          // voice sentence kind
    std::string source;        // scenario | persona | voice | enroll
    std::string depends_on;    // speech: the text case id
    uint64_t seed = 0;
};

/// Expands the suite against the host's characters, in a stable order. `notes` receives skips
/// (missing character, absent persona dataset …).
std::vector<CaseSpec> expand_cases(const Suite& suite, const Host& host, std::vector<std::string>& notes);

}  // namespace troupe::eval
