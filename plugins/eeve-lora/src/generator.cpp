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

Generation generate(const Model& model, const std::vector<int64_t>& prompt, const Adapter* adapter,
                    const GenerateOptions& options, TokenDecoder* decoder, const StreamFn& stream,
                    const std::function<bool()>& cancelled) {
    if (prompt.empty()) throw Error(Errc::invalid_argument, "generate: the prompt has no tokens");
    const int64_t context = model.config().max_position_embeddings;
    if (static_cast<int64_t>(prompt.size()) >= context)
        throw Error(Errc::invalid_argument, fmt::format("generate: the prompt has {} tokens, the model's context is {}",
                                                        prompt.size(), context));
    if (options.sampling.max_new_tokens < 0) throw Error(Errc::invalid_argument, "generate: max_new_tokens < 0");
    std::vector<std::string> stops;
    for (const std::string& s : options.stop_strings)
        if (!s.empty()) stops.push_back(s);
    const std::vector<int64_t>& eos = options.eos_ids.empty() ? model.config().eos_token_ids : options.eos_ids;
    auto is_eos = [&](int64_t id) { return std::find(eos.begin(), eos.end(), id) != eos.end(); };

    c10::InferenceMode guard;
    Sampler sampler(options.sampling, options.utf8);
    Generation g;
    g.prompt_tokens = static_cast<int64_t>(prompt.size());
    const int64_t max_new = std::min<int64_t>(options.sampling.max_new_tokens, context - g.prompt_tokens);
    std::vector<int64_t> history = prompt;
    std::string text;
    size_t emitted = 0;
    bool stop_cancel = false;

    auto emit = [&](size_t upto) {
        if (upto > emitted) {
            if (stream && !stream(text.substr(emitted, upto - emitted))) stop_cancel = true;
            emitted = upto;
        }
    };

    const int64_t needed = g.prompt_tokens + std::max<int64_t>(max_new, 1);
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

    g.stop = StopReason::length;
    at::Tensor logits;
    if (max_new > 0) {
        logits = session ? session->prefill(prompt) : run(prompt);
        if (logits.is_cuda()) logits = logits.contiguous();
    }
    g.prefill_seconds = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < max_new; ++step) {
        if (cancelled && cancelled()) {
            g.stop = StopReason::cancelled;
            break;
        }
        const int64_t id = sampler.next(logits, history, max_new - step);
        g.ids.push_back(id);
        history.push_back(id);
        if (is_eos(id)) {
            g.stop = StopReason::eos;
            break;
        }
        if (decoder) {
            const size_t before = text.size();
            text += decoder->push(id);
            bool hit = false;
            for (const std::string& s : stops) {
                const size_t from = before >= s.size() ? before - s.size() + 1 : 0;
                const size_t pos = text.find(s, from);
                if (pos != std::string::npos) {
                    text.resize(pos);
                    hit = true;
                }
            }
            if (hit) {
                emit(text.size());
                g.stop = StopReason::stop_string;
                break;
            }
            emit(text.size() - held_back(text, stops));
            if (stop_cancel) {
                g.stop = StopReason::cancelled;
                break;
            }
        }
        if (step + 1 == max_new) break;
        logits = session ? session->step(id) : options.use_cache ? run({id}) : run(history);
    }
    if (decoder && g.stop != StopReason::stop_string) {
        text += decoder->flush();
        // A stop string completed by the flushed tail still ends the text there.
        for (const std::string& s : stops) {
            const size_t pos = text.find(s);
            if (pos != std::string::npos) {
                text.resize(pos);
                if (g.stop == StopReason::length) g.stop = StopReason::stop_string;
            }
        }
        if (!stop_cancel) emit(text.size());
    }
    g.decode_seconds = seconds_since(t0);
    g.text = std::move(text);
    return g;
}

}  // namespace troupe::llama
