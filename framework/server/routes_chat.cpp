// POST /v1/chat/completions: a character answers the situation (the last user message) in its own
// style, as one OpenAI chat.completion or as chat.completion.chunk server-sent events.
#include "app.hpp"
#include "json_shapes.hpp"
#include "stream_writer.hpp"

#include <troupe/request.hpp>
#include <troupe/text.hpp>

#include <atomic>
#include <chrono>

namespace troupe::server {

namespace {

struct ChatCall {
    const Character* character = nullptr;
    TextRequest request;
    bool stream = false, include_usage = false;
    std::string id;
    int64_t created = 0;
};

ChatCall parse_chat(const App& app, const nlohmann::json& body) {
    const ChatParams p = parse_chat_request(body, app.options.max_text_chars);
    ChatCall call;
    call.character = &find_character(app, p.model, "model");
    RequestOptions options;
    if (p.seed >= 0) options.seed = uint64_t(p.seed);
    if (p.max_tokens) options.max_new_tokens = p.max_tokens;
    options.greedy = p.temperature == 0;
    call.stream = p.stream;
    call.include_usage = p.include_usage;
    // The one request path (troupe/request.hpp); the adapter is already loaded (CastBackends).
    call.request = make_text_request(app.host, *call.character, nullptr, {p.situation, p.action, {}}, options);
    if (p.temperature > 0) call.request.sampling.temperature = float(p.temperature);
    if (p.top_p >= 0) call.request.sampling.top_p = float(p.top_p);
    for (const auto& s : p.stop) call.request.stop_strings.push_back(s);
    call.created = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
    static std::atomic<uint64_t> counter{0};
    call.id = "chatcmpl-troupe-" + std::to_string(call.created) + "-" + std::to_string(++counter);
    return call;
}

const char* finish_reason(StopReason stop) { return stop == StopReason::length ? "length" : "stop"; }

nlohmann::json usage(const TextResult& r) {
    const int completion = int(r.token_ids.size());
    return {{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", completion},
            {"total_tokens", r.prompt_tokens + completion}};
}

nlohmann::json chunk(const ChatCall& call, const nlohmann::json& delta, const nlohmann::json& finish) {
    return {{"id", call.id}, {"object", "chat.completion.chunk"}, {"created", call.created},
            {"model", call.character->id}, {"system_fingerprint", nullptr},
            {"choices", {{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish}}}}};
}

struct SinkState {
    StreamWriter* writer;
    const ChatCall* call;
    const App* app;
};

bool on_piece(void* user, const std::string& piece) {
    auto* s = static_cast<SinkState*>(user);
    if (s->app->stopping) return false;
    if (s->call->stream) return s->writer->event(chunk(*s->call, {{"content", piece}}, nullptr));
    return s->writer->alive(std::chrono::milliseconds(250));
}

/// Runs the generation in the backend's turn and writes the answer; the client going away (a failed
/// write) cancels it, while waiting for the turn or between tokens.
bool answer(App& app, const ChatCall& call, BackendQueueTicket& ticket, httplib::DataSink& sink) {
    StreamWriter writer(sink, call.stream ? StreamWriter::Kind::sse : StreamWriter::Kind::json);
    auto& text = app.backends.text(*call.character);
    const bool turn = ticket->wait_turn([&] { return app.stopping || !writer.alive(std::chrono::milliseconds(250)); });
    if (!turn && app.stopping && writer.ok()) {  // the server stops: say so, in OpenAI's error shape
        nlohmann::json error = {{"error", {{"message", "the server is shutting down"}, {"type", "server_error"},
                                           {"param", nullptr}, {"code", "shutting_down"}}}};
        if (call.stream) writer.event(error);
        else writer.write(error.dump());
        writer.finish();
        return writer.ok();
    }
    if (!turn) {  // the client left before its turn
        ++app.cancelled;
        return false;
    }
    if (call.stream) writer.event(chunk(call, {{"role", "assistant"}, {"content", ""}}, nullptr));
    SinkState state{&writer, &call, &app};
    TextResult result;
    Status s = text.backend->generate(call.request, result, &on_piece, &state);
    ticket.reset();
    if (!writer.ok()) {  // cancelled by the client going away
        ++app.cancelled;
        return false;
    }
    ++app.completed;
    if (s) s = finish_line(app.host, *call.character, result.text);
    if (!s) {
        nlohmann::json error = {{"error", {{"message", s.message()}, {"type", "server_error"}, {"param", nullptr}, {"code", nullptr}}}};
        if (call.stream) writer.event(error);
        else writer.write(error.dump());
        writer.finish();
        return writer.ok();
    }
    if (call.stream) {
        writer.event(chunk(call, nlohmann::json::object(), finish_reason(result.stop)));
        if (call.include_usage) {
            nlohmann::json last = chunk(call, {}, nullptr);
            last["choices"] = nlohmann::json::array();
            last["usage"] = usage(result);
            writer.event(last);
        }
        writer.done_marker();
    } else {
        nlohmann::json message = {{"role", "assistant"}, {"content", trim(result.text)}, {"refusal", nullptr}};
        nlohmann::json body = {{"id", call.id}, {"object", "chat.completion"}, {"created", call.created},
                               {"model", call.character->id}, {"system_fingerprint", nullptr},
                               {"choices", {{{"index", 0}, {"message", message}, {"logprobs", nullptr},
                                             {"finish_reason", finish_reason(result.stop)}}}},
                               {"usage", usage(result)}};
        writer.write(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    writer.finish();
    return writer.ok();
}

}  // namespace

void add_chat_routes(httplib::Server& http, App& app) {
    http.Post("/v1/chat/completions", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        auto call = std::make_shared<ChatCall>(parse_chat(app, json_body(req)));
        auto& text = app.backends.text(*call->character);
        auto ticket = std::make_shared<BackendQueueTicket>(text.queue->try_enter());
        if (!*ticket) {
            res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
            throw HttpError(503, {}, "the text backend is busy: its queue of " + std::to_string(text.queue->capacity()) +
                                         " requests is full; retry later", "queue_full");
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(call->stream ? "text/event-stream" : "application/json",
                                         [&app, call, ticket](size_t, httplib::DataSink& sink) {
                                             // false: the client is gone (httplib closes the connection)
                                             return answer(app, *call, *ticket, sink);
                                         });
    }));
}

}  // namespace troupe::server
