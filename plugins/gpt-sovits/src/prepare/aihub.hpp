// prepare/aihub.hpp — AI Hub-style speech corpora → upstream list entries. No LibTorch.
//
// Layout (as AI Hub ships its extracted archives): label folders `TL_<name>` (training) / `VL_<name>`
// (validation) hold one JSON label per utterance; the audio is in the matching source folder
// `TS_<name>` / `VS_<name>` anywhere under the same root (e.g. `Training/02.라벨링데이터/TL_x` ↔
// `Training/01.원천데이터/TS_x`). Sub-folders inside a pair are free.
//
// A label's fields are found by key name, case-insensitively, anywhere in the JSON object (nested
// objects included, e.g. {"전사정보": {"TransLabelText": …}, "화자정보": {"SpeakerName": …},
// "파일정보": {"FileName": …}}); see docs/voice-data.md for the key lists. A label whose utterances are
// an array of several segments is refused (one audio file must be one utterance).
// The audio is the file the label names (searched beside the label's relative path in the source
// folder, then by base name), or else the audio file with the label's own relative path and stem.
#pragma once

#include "prepare/dataset_list.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace troupe::sovits::prepare {

/// Which side of a dual transcription "(A)/(B)" to keep.
enum class DualTranscript {
    pronounced,  // the side with fewer digits and Latin letters (ties → the second): what G2P wants
    first,
    second,
};
DualTranscript parse_dual_transcript(std::string_view name);  // "pronounced" | "first" | "second"

struct AihubOptions {
    std::string language = "ko";
    /// Speaker when a label names none; empty = the name of the folder holding the label.
    std::string default_speaker;
    DualTranscript dual = DualTranscript::pronounced;
};

/// The fields read from one label.
struct LabelFields {
    std::string text;     // as found (before clean_transcript)
    std::string speaker;  // may be empty
    std::string audio;    // file name (or stem) the label names; may be empty
    std::string emotion;  // emotion label (e.g. 감성 및 발화 스타일's "Emotion"), trimmed; may be empty
};

/// Reads the fields of a parsed label. Throws Error(invalid_file) naming `file` when the JSON is not
/// an object, holds no transcript, or holds several utterances.
LabelFields read_label_fields(const nlohmann::json& label, const std::string& file);

/// A transcript as one list field: whitespace runs (line breaks included) → one space, trimmed;
/// dual transcriptions "(A)/(B)" resolved; the noise tags "b/ l/ o/ n/ u/" of AI Hub's spoken-Korean
/// transcription rules removed.
std::string clean_transcript(std::string_view text, DualTranscript dual = DualTranscript::pronounced);

struct AihubScan {
    std::vector<ListEntry> entries;  // in label-path order; wav = absolute audio path
    std::vector<Problem> problems;   // stage "labels"
    size_t label_folders = 0, source_folders = 0, labels = 0, audio_files = 0;
};

/// Scans `root` (a folder holding TL_/TS_ folders at any depth, or itself one TL_ folder beside its
/// TS_ folder). Throws Error(not_found) if `root` does not exist or holds no label folder.
AihubScan scan_aihub(const std::string& root, const AihubOptions& options = {});

/// True for the audio extensions the preparation reads (wav, flac, ogg, mp3; case-insensitive).
bool is_audio_file(std::string_view path);

}  // namespace troupe::sovits::prepare
