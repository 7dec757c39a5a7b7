// train/s2_dataset.hpp — the S2 training set as upstream's TextAudioSpeakerLoader /
// TextAudioSpeakerCollate / DistributedBucketSampler (module/data_utils.py, one replica) build it from
// the folder `troupe tts prepare` (or upstream's 1A tab) writes:
//
//   2-name2text.txt     name \t phones \t word2ph \t norm_text (4 columns; phones → v2 symbol ids)
//   4-cnhubert/<name>.pt  HuBERT features (1, ssl_dim, F) (torch.save of one tensor)
//   5-wav32k/<name>     16-bit PCM mono WAV at the model's sampling rate
//
// Items: the names present in all three (sorted, then shuffled with Python's random.seed(1234) as
// upstream — upstream starts from an unordered set, so its order is not reproducible anyway), kept
// when 0.6 s < duration < 54 s (duration from the file size as upstream: bytes / rate / 2); a set of
// fewer than 100 items is repeated max(2, ⌊100 / n⌋) times. Length for bucketing = bytes / (2·hop).
//
// Per item: the linear spectrogram of the waveform (spectrogram.hpp), the SSL features replicate-
// padded by one frame when their length differs from the spectrogram's (upstream's fix-up), the
// phone ids. Unlike upstream — which substitutes silent zeros for an unreadable file — a missing or
// unreadable wav / feature file, a phone outside the table, an empty transcript, or SSL features whose
// width differs from the model's are errors naming the file.
#pragma once

#include "train/s2_model.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::sovits::train {

struct S2Item {
    std::string name;
    std::vector<int64_t> phone_ids;
    int64_t bytes = 0;   // size of 5-wav32k/<name>
    int64_t length = 0;  // bytes / (2 · hop): upstream's bucketing length
};

struct S2DatasetOptions {
    std::string data_dir;
    int64_t sampling_rate = 32000, hop_length = 640, filter_length = 2048, win_length = 2048;
    int64_t ssl_dim = 768;
    int64_t phone_vocab = 732;
    int64_t min_items = 100;
    double min_seconds = 0.6, max_seconds = 54;
};

struct S2Dataset {
    S2DatasetOptions options;
    std::vector<S2Item> items;  // after filters, shuffle and repetition
    size_t unique_items = 0;
    size_t skipped_duration = 0;
    size_t missing_features = 0;  // transcripts without a 4-cnhubert or 5-wav32k file (as upstream: left out)
};

/// Lists and filters the set; throws troupe::Error naming the file for unreadable inputs.
S2Dataset load_s2_dataset(const S2DatasetOptions& options);

/// One item as TextAudioSpeakerLoader returns it.
struct S2Example {
    at::Tensor ssl;   // (1, ssl_dim, T)
    at::Tensor spec;  // (bins, T)
    at::Tensor wav;   // (1, samples)
    at::Tensor text;  // (N) int64
};
S2Example load_s2_example(const S2Dataset& ds, size_t index);

/// TextAudioSpeakerCollate: sorted by spectrogram length (descending, stable), ssl/spec padded to
/// 2·(max/2 + 1) frames, wav and text to their maxima, zeros.
S2Batch collate_s2(const std::vector<S2Example>& examples);

/// DistributedBucketSampler with one replica and upstream's boundaries [32, 300, 400, …, 1900]:
/// items outside (32, 1900] are dropped, each bucket is padded to a multiple of the batch size by
/// repeating its own items, buckets shuffled with torch.randperm seeded with the epoch, the batch list
/// shuffled with the same generator.
class S2BucketSampler {
public:
    S2BucketSampler(const std::vector<int64_t>& lengths, int64_t batch_size);
    /// Batches of epoch `epoch` (upstream's 1-based epoch number: set_epoch(epoch)).
    std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) const;
    int64_t batches_per_epoch() const;
    size_t dropped() const { return dropped_; }

private:
    std::vector<std::vector<size_t>> buckets_;
    std::vector<int64_t> samples_per_bucket_;
    int64_t batch_size_;
    size_t dropped_ = 0;
};

}  // namespace troupe::sovits::train
