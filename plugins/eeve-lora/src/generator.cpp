#include "generator.hpp"

#include "adapter.hpp"
#include "decode_session.hpp"
#include "sampler.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace troupe::llama {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Length of the longest suffix of `text` that is a proper prefix of some stop string.
size_t held_back(const std::string& text, const std::vector<std::string>& stops) {
    size_t hold = 0;
    for (const std::string& s : stops)
        for (size_t len = std::min(s.size() - 1, text.size()); len > hold; --len)
            if (text.compare(text.size() - len, len, s, 0, len) == 0) {
                hold = len;
                break;
            }
    return hold;
}

}  // namespace

namespace {

// One sequence's side of decoding: sampling, EOS and stop strings, detokenizing and streaming.
// Shared by generate() and generate_batch(); the caller runs the model.
class RowRun {
public:
    RowRun(const Model& model, const std::vector<int64_t>& prompt, const GenerateOptions& options,
           TokenDecoder* decoder, StreamFn stream)
        : options_(options), decoder_(decoder), stream_(std::move(stream)), sampler_(options.sampling, options.utf8),
          history_(prompt) {
        if (prompt.empty()) throw Error(Errc::invalid_argument, "generate: the prompt has no tokens");
        const int64_t context = model.config().max_position_embeddings;
        if (static_cast<int64_t>(prompt.size()) >= context)
            throw Error(Errc::invalid_argument, fmt::format("generate: the prompt has {} tokens, the model's context is {}",
                                                            prompt.size(), context));
        if (options.sampling.max_new_tokens < 0) throw Error(Errc::invalid_argument, "generate: max_new_tokens < 0");
        for (const std::string& s : options.stop_strings)
            if (!s.empty()) stops_.push_back(s);
        eos_ = options.eos_ids.empty() ? model.config().eos_token_ids : options.eos_ids;
        g.prompt_tokens = static_cast<int64_t>(prompt.size());
        max_new = std::min<int64_t>(options.sampling.max_new_tokens, context - g.prompt_tokens);
        g.stop = StopReason::length;
    }

    /// Samples the next id from `logits` and handles it; returns true when the row is finished.
    bool take(const at::Tensor& logits, const std::function<bool()>& cancelled) {
        if (cancelled && cancelled()) {
            g.stop = StopReason::cancelled;
            return true;
        }
        const int64_t step = static_cast<int64_t>(g.ids.size());
        const int64_t id = sampler_.next(logits, history_, max_new - step);
        last_id = id;
        g.ids.push_back(id);
        history_.push_back(id);
        if (std::find(eos_.begin(), eos_.end(), id) != eos_.end()) {
            g.stop = StopReason::eos;
            return true;
        }
        if (decoder_) {
            const size_t before = text_.size();
            text_ += decoder_->push(id);
            bool hit = false;
            for (const std::string& s : stops_) {
                const size_t from = before >= s.size() ? before - s.size() + 1 : 0;
                const size_t pos = text_.find(s, from);
                if (pos != std::string::npos) {
                    text_.resize(pos);
                    hit = true;
                }
            }
            if (hit) {
                emit(text_.size());
                g.stop = StopReason::stop_string;
                return true;
            }
            emit(text_.size() - held_back(text_, stops_));
            if (stop_cancel_) {
                g.stop = StopReason::cancelled;
                return true;
            }
        }
        return step + 1 == max_new;
    }

    /// Flushes the decoder and fills g.text.
    void finish() {
        if (decoder_ && g.stop != StopReason::stop_string) {
            text_ += decoder_->flush();
            // A stop string completed by the flushed tail still ends the text there.
            for (const std::string& s : stops_) {
                const size_t pos = text_.find(s);
                if (pos != std::string::npos) {
                    text_.resize(pos);
                    if (g.stop == StopReason::length) g.stop = StopReason::stop_string;
                }
            }
            if (!stop_cancel_) emit(text_.size());
        }
        g.text = std::move(text_);
    }

    Generation g;
    int64_t max_new = 0;
    int64_t last_id = -1;
    const std::vector<int64_t>& history() const { return history_; }

private:
    void emit(size_t upto) {
        if (upto > emitted_) {
            if (stream_ && !stream_(text_.substr(emitted_, upto - emitted_))) stop_cancel_ = true;
            emitted_ = upto;
        }
    }

    const GenerateOptions& options_;
    TokenDecoder* decoder_;
    StreamFn stream_;
    Sampler sampler_;
    std::vector<int64_t> history_;
    std::vector<int64_t> eos_;
    std::vector<std::string> stops_;
    std::string text_;
    size_t emitted_ = 0;
    bool stop_cancel_ = false;
};

}  // namespace

Generation generate(const Model& model, const std::vector<int64_t>& prompt, const Adapter* adapter,
                    const GenerateOptions& options, TokenDecoder* decoder, const StreamFn& stream,
                    const std::function<bool()>& cancelled) {
    c10::InferenceMode guard;
    RowRun row(model, prompt, options, decoder, stream);
    const int64_t max_new = row.max_new;
    const int64_t needed = row.g.prompt_tokens + std::max<int64_t>(max_new, 1);
    DecodeSession* session = options.use_cache ? options.session : nullptr;
    std::unique_ptr<DecodeSession> own_session;
    if (options.use_cache && !session && model.device().is_cuda()) {
        own_session = std::make_unique<DecodeSession>(model, adapter, needed);
        session = own_session.get();
    }
    if (session && (session->adapter() != adapter || session->capacity() < needed))
        throw Error(Errc::invalid_argument,
                    fmt::format("generate: the decode session is for another adapter or holds {} positions, not {}",
                                session->capacity(), needed));
    KVCache cache;
    if (options.use_cache && !session) cache = model.new_cache(1, needed);
    auto t0 = std::chrono::steady_clock::now();
    auto run = [&](const std::vector<int64_t>& ids) {
        at::Tensor t = at::tensor(ids, at::kLong).unsqueeze(0);
        ForwardOptions fo;
        fo.adapter = adapter;
        fo.last_only = true;
        fo.cache = options.use_cache ? &cache : nullptr;
        return model.forward(t, fo).select(0, 0).select(0, 0);
    };

    at::Tensor logits;
    if (max_new > 0) {
        logits = session ? session->prefill(prompt) : run(prompt);
        if (logits.is_cuda()) logits = logits.contiguous();
    }
    row.g.prefill_seconds = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < max_new; ++step) {
        if (row.take(logits, cancelled)) break;
        const int64_t id = row.last_id;
        logits = session ? session->step(id) : options.use_cache ? run({id}) : run(row.history());
    }
    row.finish();
    row.g.decode_seconds = seconds_since(t0);
    return std::move(row.g);
}

std::vector<Generation> generate_batch(const Model& model, const std::vector<BatchRow>& rows,
                                       const std::function<bool()>& cancelled) {
    c10::InferenceMode guard;
    const int64_t n = static_cast<int64_t>(rows.size());
    std::vector<std::unique_ptr<RowRun>> runs;
    int64_t capacity = 1;
    for (const BatchRow& r : rows) {
        runs.push_back(std::make_unique<RowRun>(model, r.prompt, r.options, r.decoder, StreamFn{}));
        capacity = std::max(capacity, runs.back()->g.prompt_tokens + std::max<int64_t>(runs.back()->max_new, 1));
    }
    // Prefill: each prompt on its own into its row of one static cache (no padding needed).
    auto t0 = std::chrono::steady_clock::now();
    KVCache cache = model.new_cache(std::max<int64_t>(n, 1), capacity);
    std::vector<at::Tensor> logits(static_cast<size_t>(n));
    std::vector<int64_t> live;  // rows still generating, in cache-row order
    for (int64_t b = 0; b < n; ++b) {
        if (runs[b]->max_new == 0) continue;
        KVCache view;
        for (size_t l = 0; l < cache.k.size(); ++l) {
            view.k.push_back(cache.k[l].narrow(0, b, 1));
            view.v.push_back(cache.v[l].narrow(0, b, 1));
        }
        view.capacity = capacity;
        ForwardOptions fo;
        fo.adapter = rows[b].adapter;
        fo.cache = &view;
        fo.last_only = true;
        logits[b] = model.forward(at::tensor(rows[b].prompt, at::kLong).unsqueeze(0), fo).view({-1});
        live.push_back(b);
    }
    const double prefill = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    std::vector<int64_t> cache_rows(live);  // which run each cache row holds
    const auto ids_opts = at::TensorOptions().dtype(at::kLong);
    while (!live.empty()) {
        std::vector<int64_t> next_live, ids, positions;
        std::vector<const Adapter*> adapters;
        for (int64_t b : live)
            if (!runs[b]->take(logits[b], cancelled)) {
                next_live.push_back(b);
                ids.push_back(runs[b]->last_id);
                positions.push_back(static_cast<int64_t>(runs[b]->history().size()) - 1);
                adapters.push_back(rows[b].adapter);
            }
        if (next_live.empty()) break;
        if (next_live != cache_rows) {  // drop finished rows from the cache (at most once per row)
            std::vector<int64_t> keep;
            for (int64_t b : next_live)
                keep.push_back(std::find(cache_rows.begin(), cache_rows.end(), b) - cache_rows.begin());
            const at::Tensor idx = at::tensor(keep, ids_opts).to(model.device());
            for (size_t l = 0; l < cache.k.size(); ++l) {
                cache.k[l] = cache.k[l].index_select(0, idx);
                cache.v[l] = cache.v[l].index_select(0, idx);
            }
            cache_rows = next_live;
        }
        const at::Tensor out = model.decode_rows(at::tensor(ids, ids_opts).unsqueeze(1).to(model.device()),
                                                 at::tensor(positions, ids_opts).to(model.device()), cache, adapters);
        for (size_t j = 0; j < next_live.size(); ++j) logits[next_live[j]] = out[static_cast<int64_t>(j)];
        live = std::move(next_live);
    }
    const double decode = seconds_since(t0);
    std::vector<Generation> out;
    for (auto& r : runs) {
        r->finish();
        r->g.prefill_seconds = prefill;
        r->g.decode_seconds = decode;
        out.push_back(std::move(r->g));
    }
    return out;
}

}  // namespace troupe::llama
