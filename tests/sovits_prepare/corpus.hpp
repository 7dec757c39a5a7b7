// A small AI Hub-style corpus generated at test time: Korean speech from libespeak-ng (the engine
// behind the espeak-ng CLI), JSON labels in three shapes, and deliberately bad files.
#pragma once

#include <string>
#include <vector>

namespace troupe::test {

struct CorpusFile {
    std::string label;  // label path ("" for audio without a label)
    std::string audio;  // audio path ("" when the label has none)
    std::string text;   // transcript as the label holds it
};

struct Corpus {
    std::string root;                // the folder holding Training/…/TL_*, TS_*
    std::vector<CorpusFile> good;    // labels that must reach list.txt, in label-path order
    std::string broken_label;        // invalid JSON
    std::string textless_label;      // valid JSON without a transcript
    std::string unreadable_audio;    // labelled, but not audio
    std::string orphan_audio;        // audio without a label
};

/// Builds the corpus under `dir` (created). Throws std::runtime_error if espeak-ng fails.
Corpus make_corpus(const std::string& dir);

/// Korean speech from libespeak-ng: mono 16-bit samples at the engine's rate (22050 Hz).
std::vector<float> espeak_korean(const std::string& text, int& sample_rate);

}  // namespace troupe::test
