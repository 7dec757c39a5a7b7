#include "train/s2_dataset.hpp"

#include "s2/spectrogram.hpp"
#include "text/symbols.hpp"
#include "train/py_random.hpp"

#include <troupe/audio.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

namespace troupe::sovits::train {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::vector<int64_t>> read_phones(const std::string& path, int64_t vocab) {
    if (!fs::is_regular_file(path))
        throw Error(Errc::not_found, fmt::format("{}: phoneme file (2-name2text.txt) not found (run `troupe tts prepare` first)", path));
    std::ifstream in(path, std::ios::binary);
    const auto& table = text::SymbolTable::v2();
    std::map<std::string, std::vector<int64_t>> out;
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::vector<std::string> cols;
        std::stringstream ls(line);
        for (std::string c; std::getline(ls, c, '\t');) cols.push_back(c);
        if (cols.size() != 4) continue;  // upstream keeps 4-column lines only
        std::vector<int64_t> ids;
        std::istringstream ps(cols[1]);
        for (std::string ph; ps >> ph;) {
            const int id = table.find(ph);
            if (id < 0 || id >= vocab)
                throw Error(Errc::invalid_file, fmt::format("{}:{}: phone '{}' of '{}' is not in the v2 symbol table", path, n, ph, cols[0]));
            ids.push_back(id);
        }
        if (ids.empty()) throw Error(Errc::invalid_file, fmt::format("{}:{}: '{}' has an empty transcript (no phones)", path, n, cols[0]));
        out[cols[0]] = std::move(ids);
    }
    if (out.empty()) throw Error(Errc::invalid_file, fmt::format("{}: no transcripts", path));
    return out;
}

}  // namespace

S2Dataset load_s2_dataset(const S2DatasetOptions& o) {
    S2Dataset ds;
    ds.options = o;
    const fs::path dir(o.data_dir);
    const auto phones = read_phones((dir / "2-name2text.txt").string(), o.phone_vocab);
    for (const char* sub : {"4-cnhubert", "5-wav32k"})
        if (!fs::is_directory(dir / sub))
            throw Error(Errc::not_found, fmt::format("{}: no {} folder (run `troupe tts prepare` with --hubert)", (dir / sub).string(), sub));
    std::vector<std::string> names;
    for (const auto& [name, ids] : phones) {
        if (fs::is_regular_file(dir / "4-cnhubert" / (name + ".pt")) && fs::is_regular_file(dir / "5-wav32k" / name))
            names.push_back(name);
        else
            ++ds.missing_features;
    }
    if (names.empty())
        throw Error(Errc::invalid_file, fmt::format("{}: no transcript has both 4-cnhubert/<name>.pt and 5-wav32k/<name>", o.data_dir));
    std::vector<std::string> list = names;
    if (int64_t(list.size()) < o.min_items) {
        list.clear();
        const int64_t times = std::max<int64_t>(2, o.min_items / int64_t(names.size()));
        for (int64_t t = 0; t < times; ++t) list.insert(list.end(), names.begin(), names.end());
    }
    PyRandom rng(1234);
    rng.shuffle(list);
    for (const auto& name : list) {
        const int64_t bytes = int64_t(fs::file_size(dir / "5-wav32k" / name));
        const double seconds = double(bytes) / double(o.sampling_rate) / 2.0;
        if (!(seconds > o.min_seconds && seconds < o.max_seconds)) {
            ++ds.skipped_duration;
            continue;
        }
        ds.items.push_back({name, phones.at(name), bytes, bytes / (2 * o.hop_length)});
    }
    ds.unique_items = names.size();
    if (ds.items.size() < 2)
        throw Error(Errc::invalid_file, fmt::format("{}: fewer than 2 utterances between {} s and {} s long", o.data_dir, o.min_seconds, o.max_seconds));
    return ds;
}

S2Example load_s2_example(const S2Dataset& ds, size_t index) {
    const S2DatasetOptions& o = ds.options;
    const S2Item& item = ds.items.at(index);
    const fs::path dir(o.data_dir);
    const std::string wav_path = (dir / "5-wav32k" / item.name).string();
    Audio audio;
    try {
        audio = read_wav(wav_path);
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: unreadable audio ({})", wav_path, e.what()));
    }
    if (audio.sample_rate != o.sampling_rate)
        throw Error(Errc::invalid_file, fmt::format("{}: {} Hz, the model needs {} Hz (re-run `troupe tts prepare`)", wav_path,
                                                    audio.sample_rate, o.sampling_rate));
    S2Example ex;
    ex.wav = at::from_blob(audio.samples.data(), {1, int64_t(audio.samples.size())}, at::kFloat).clone();
    s2::SpectrogramParams sp;
    sp.n_fft = o.filter_length;
    sp.hop = o.hop_length;
    sp.win = o.win_length;
    sp.sampling_rate = o.sampling_rate;
    try {
        ex.spec = s2::linear_spectrogram(ex.wav, sp).squeeze(0);
    } catch (const Error& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: {}", wav_path, e.what()));
    }
    const std::string ssl_path = (dir / "4-cnhubert" / (item.name + ".pt")).string();
    at::Tensor ssl;
    try {
        const pt::Checkpoint ck = pt::Checkpoint::open(ssl_path);
        if (!ck.root().is_tensor()) throw Error(Errc::invalid_file, "the file does not hold one tensor");
        ssl = ck.root().as_tensor().to(at::kFloat).clone();
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: unreadable HuBERT features ({})", ssl_path, e.what()));
    }
    if (ssl.dim() == 2) ssl = ssl.unsqueeze(0);
    if (ssl.dim() != 3 || ssl.size(0) != 1 || ssl.size(1) != o.ssl_dim || ssl.size(2) < 2)
        throw Error(Errc::invalid_file, fmt::format("{}: HuBERT features must be (1, {}, frames); the model's ssl_proj takes {} channels",
                                                    ssl_path, o.ssl_dim, o.ssl_dim));
    if (ssl.size(2) != ex.spec.size(1)) ssl = at::replication_pad1d(ssl, {0, 1});  // upstream pads ONE frame
    ex.ssl = ssl;
    ex.text = at::tensor(item.phone_ids, at::kLong);
    return ex;
}

S2Batch collate_s2(const std::vector<S2Example>& ex) {
    const int64_t b = int64_t(ex.size());
    std::vector<int64_t> order(ex.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return ex[x].spec.size(1) > ex[y].spec.size(1); });
    int64_t max_ssl = 0, max_spec = 0, max_wav = 0, max_text = 0;
    for (const auto& e : ex) {
        max_ssl = std::max(max_ssl, e.ssl.size(2));
        max_spec = std::max(max_spec, e.spec.size(1));
        max_wav = std::max(max_wav, e.wav.size(1));
        max_text = std::max(max_text, e.text.size(0));
    }
    max_ssl = 2 * (max_ssl / 2 + 1);
    max_spec = 2 * (max_spec / 2 + 1);
    S2Batch out;
    out.ssl = at::zeros({b, ex[0].ssl.size(1), max_ssl});
    out.spec = at::zeros({b, ex[0].spec.size(0), max_spec});
    out.wav = at::zeros({b, 1, max_wav});
    out.text = at::zeros({b, max_text}, at::kLong);
    out.ssl_lengths = at::zeros({b}, at::kLong);
    out.spec_lengths = at::zeros({b}, at::kLong);
    out.wav_lengths = at::zeros({b}, at::kLong);
    out.text_lengths = at::zeros({b}, at::kLong);
    for (int64_t i = 0; i < b; ++i) {
        const S2Example& e = ex[size_t(order[size_t(i)])];
        out.ssl[i].slice(1, 0, e.ssl.size(2)).copy_(e.ssl[0]);
        out.spec[i].slice(1, 0, e.spec.size(1)).copy_(e.spec);
        out.wav[i].slice(1, 0, e.wav.size(1)).copy_(e.wav);
        out.text[i].slice(0, 0, e.text.size(0)).copy_(e.text);
        out.ssl_lengths[i] = e.ssl.size(2);
        out.spec_lengths[i] = e.spec.size(1);
        out.wav_lengths[i] = e.wav.size(1);
        out.text_lengths[i] = e.text.size(0);
    }
    return out;
}

S2BucketSampler::S2BucketSampler(const std::vector<int64_t>& lengths, int64_t batch_size) : batch_size_(batch_size) {
    if (batch_size < 1) throw Error(Errc::invalid_argument, "S2 sampler: batch_size must be at least 1");
    std::vector<int64_t> bounds{32, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900};
    std::vector<std::vector<size_t>> buckets(bounds.size() - 1);
    for (size_t i = 0; i < lengths.size(); ++i) {
        bool placed = false;
        for (size_t k = 0; k + 1 < bounds.size(); ++k)
            if (bounds[k] < lengths[i] && lengths[i] <= bounds[k + 1]) {
                buckets[k].push_back(i);
                placed = true;
                break;
            }
        if (!placed) ++dropped_;
    }
    for (auto& bucket : buckets) {
        if (bucket.empty()) continue;
        const int64_t len = int64_t(bucket.size());
        samples_per_bucket_.push_back(len + (batch_size - len % batch_size) % batch_size);
        buckets_.push_back(std::move(bucket));
    }
    if (buckets_.empty())
        throw Error(Errc::invalid_argument, "S2 sampler: no utterance is between 32 and 1900 frames long (about 0.64 s to 38 s)");
}

int64_t S2BucketSampler::batches_per_epoch() const {
    int64_t total = 0;
    for (int64_t n : samples_per_bucket_) total += n;
    return total / batch_size_;
}

std::vector<std::vector<size_t>> S2BucketSampler::epoch_batches(int64_t epoch) const {
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(uint64_t(epoch));
    std::vector<std::vector<size_t>> batches;
    std::vector<std::vector<int64_t>> perms;
    for (const auto& bucket : buckets_) {
        const at::Tensor p = at::randperm(int64_t(bucket.size()), g, at::kLong);
        perms.emplace_back(p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + p.numel());
    }
    for (size_t i = 0; i < buckets_.size(); ++i) {
        const auto& bucket = buckets_[i];
        std::vector<int64_t> ids = perms[i];
        const int64_t len = int64_t(bucket.size()), rem = samples_per_bucket_[i] - len;
        for (int64_t r = 0; r < rem / len; ++r) ids.insert(ids.end(), perms[i].begin(), perms[i].end());
        ids.insert(ids.end(), perms[i].begin(), perms[i].begin() + rem % len);
        for (size_t j = 0; j + size_t(batch_size_) <= ids.size(); j += size_t(batch_size_)) {
            std::vector<size_t> batch;
            for (size_t k = j; k < j + size_t(batch_size_); ++k) batch.push_back(bucket[size_t(ids[k])]);
            batches.push_back(std::move(batch));
        }
    }
    const at::Tensor order = at::randperm(int64_t(batches.size()), g, at::kLong);
    std::vector<std::vector<size_t>> out;
    for (int64_t k = 0; k < order.numel(); ++k) out.push_back(batches[size_t(order.data_ptr<int64_t>()[k])]);
    return out;
}

}  // namespace troupe::sovits::train
