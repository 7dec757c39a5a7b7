// train/s1_dataset.hpp — the S1 training set as upstream's Text2SemanticDataset builds it
// (AR/data/dataset.py) from the folder `troupe tts prepare` (or upstream's 1A tab) writes:
//
//   2-name2text.txt      name \t phones (space-separated symbols) \t word2ph \t norm_text
//   6-name2semantic.tsv  header "item_name\tsemantic_audio", then name \t codes (space-separated)
//   3-bert/<name>.pt     optional (1024, N) BERT features (upstream writes them for Chinese only)
//
// Rows follow the order of 6-name2semantic.tsv. Upstream's filters: more than max_sec·25 codes,
// more than max_sec·25/2.5 phones, or phones per second (25 codes = 1 s) outside [3, 25] drop the
// row; a set of fewer than 100 rows is repeated max(2, ⌊100 / n⌋) times.
//
// Unlike upstream (which skips them silently or crashes), inconsistent inputs are errors naming the
// file and the line: a transcript without semantic codes, codes without a transcript, an empty
// transcript or code list, a phone not in the v2 symbol table, a code outside [0, vocab).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::sovits::train {

struct S1Item {
    std::string name;
    std::vector<int64_t> phoneme_ids;
    std::vector<int64_t> semantic_ids;
    std::string bert_path;  // 3-bert/<name>.pt when it exists, else empty (zeros)
};

struct S1DatasetOptions {
    std::string phoneme_path;   // 2-name2text.txt
    std::string semantic_path;  // 6-name2semantic.tsv
    int64_t max_sec = 54;       // config data.max_sec
    int64_t hz = 25;            // semantic frames per second
    double min_ps_ratio = 3, max_ps_ratio = 25;
    int64_t min_items = 100;    // upstream's min_num repetition
    int64_t phoneme_vocab = 732, semantic_vocab = 1024;  // valid id ranges (codes < EOS)
};

struct S1Dataset {
    std::vector<S1Item> items;  // after filters and repetition
    size_t unique_items = 0;    // rows kept before the repetition
    size_t dropped_too_long = 0, dropped_ps_ratio = 0;
    size_t dropped_unprepared = 0;  // transcripts prepare-report.json lists as skipped after the text stage

    /// Upstream get_sample_length: codes / hz seconds.
    double seconds(size_t i, int64_t hz = 25) const { return double(items[i].semantic_ids.size()) / double(hz); }
};

/// Reads and filters the set; throws troupe::Error(invalid_file / not_found) naming the file.
S1Dataset load_s1_dataset(const S1DatasetOptions& options);

/// Reads a 3-bert/<name>.pt feature (1024, N) float32; checks N against `phones`.
at::Tensor load_bert_feature(const std::string& path, size_t phones);

}  // namespace troupe::sovits::train
