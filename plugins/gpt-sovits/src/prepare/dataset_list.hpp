// prepare/dataset_list.hpp — upstream GPT-SoVITS's dataset list (`list.txt`, the webui's .list):
// one UTF-8 line per utterance, `wav_path|speaker|language|text`, and the problems a preparation run
// reports per file. No LibTorch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace troupe::sovits::prepare {

/// One list line. `wav` is a path as written (relative paths resolve against the working directory,
/// as upstream; with --wav-dir only its base name is used).
struct ListEntry {
    std::string wav;
    std::string speaker;
    std::string language;  // upstream code: "ko", "zh", "ja", "en", "yue"
    std::string text;
    std::string source;    // where the entry came from (label file, or "list.txt:<line>"), for reports
    std::string emotion;   // the label's emotion (AI Hub labels), "" when none; not part of list files
};

/// A file that was skipped, with the stage that refused it and why. Never silently dropped.
struct Problem {
    std::string file;    // the offending file (label, audio, list line)
    std::string stage;   // "labels", "list", "text", "wav32k", "hubert", "semantic"
    std::string reason;
};

/// Upstream's language codes for a list's language field (1-get-text.py's v1→v2 map plus Korean
/// and Cantonese spellings): ZH/zh → zh, JP/jp/JA/ja → ja, EN/En/en → en, KO/Ko/ko → ko,
/// YUE/Yue/yue → yue. Returns "" for anything else.
std::string normalize_language(std::string_view code);

/// Why `text` cannot be one list field (empty, contains '|', a newline, a tab, invalid UTF-8), or "".
std::string list_field_problem(std::string_view text);

/// The list line for an entry (no newline). Throws Error(invalid_argument) if a field cannot be
/// written (see list_field_problem; speaker and wav must not contain '|' or newlines either).
std::string format_list_line(const ListEntry& entry);

/// Reads a list file. Lines that do not split into exactly 4 fields by '|' (upstream would throw on
/// them) are reported in `problems` (stage "list") and skipped; blank lines are ignored. Relative
/// wav paths are kept as written. Throws Error(not_found / invalid_file) if the file cannot be read.
std::vector<ListEntry> read_list(const std::string& path, std::vector<Problem>& problems);

/// read_list on the file's bytes already in memory (`path` names it in the problems and entries).
std::vector<ListEntry> read_list_text(std::string_view text, const std::string& path, std::vector<Problem>& problems);

/// Writes entries as a list file (atomically: temporary file, then rename), one line each, "\n" after
/// every line.
void write_list(const std::string& path, const std::vector<ListEntry>& entries);

/// Upstream's item name: the base name of the wav path ("a/b/x.wav" → "x.wav").
std::string item_name(std::string_view wav_path);

/// Writes `content` to `path` atomically (temporary file in the same folder, then rename).
void write_text_file(const std::string& path, const std::string& content);

}  // namespace troupe::sovits::prepare
