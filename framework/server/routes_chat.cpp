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

std::string message_text(const nlohmann::json& content, size_t index) {
    const std::string param = "messages[" + std::to_string(index) + "].content";
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) throw HttpError(400, param, "'" + param + "' must be a string or an array of text parts");
    std::string text;
    for (const auto& part : content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
            throw HttpError(400, param, "'" + param + "' may only hold {\"type\": \"text\", \"text\": …} parts");
        text += part["text"].get<std::string>();
    }
    return text;
}

/// The situation: the last user message.
std::string situation_of(const nlohmann::json& body) {
    auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty())
        throw HttpError(400, "messages", "'messages' must be a non-empty array");
    std::string situation;
    bool found = false;
    for (size_t i = 0; i < it->size(); ++i) {
        const auto& m = (*it)[i];
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            throw HttpError(400, "messages[" + std::to_string(i) + "].role", "every message needs a string 'role'");
        if (m["role"] == "user") {
            situation = message_text(m.value("content", nlohmann::json()), i);
            found = true;
        }
    }
    if (!found) throw HttpError(400, "messages", "'messages' has no user message (the situation)");
    return situation;
}

ChatCall parse_chat(const App& app, const nlohmann::json& body) {
    ChatCall call;
    call.character = &find_character(app, string_field(body, "model", true), "model");
    const std::string situation = situation_of(body);
    check_text_field(situation, "messages", app.options.max_text_chars);
    RequestOptions options;
    std::string action;
    int64_t seed = -1;
    if (auto t = body.find("troupe"); t != body.end() && !t->is_null()) {
        if (!t->is_object()) throw HttpError(400, "troupe", "'troupe' must be an object {action, seed}");
        action = string_field(*t, "action", false);
        if (!action.empty()) check_text_field(action, "troupe.action", app.options.max_text_chars);
        seed = integer_field(*t, "seed", -1, 0, INT64_MAX);
    }
    if (seed < 0) seed = integer_field(body, "seed", -1, 0, INT64_MAX);
    if (seed >= 0) options.seed = uint64_t(seed);
    int max_tokens = int(integer_field(body, "max_completion_tokens", 0, 1, 1024));
    if (!max_tokens) max_tokens = int(integer_field(body, "max_tokens", 0, 1, 1024));
    if (max_tokens) options.max_new_tokens = max_tokens;
    const double temperature = number_field(body, "temperature", -1, 0, 2);
    const double top_p = number_field(body, "top_p", -1, 0, 1);
    options.greedy = temperature == 0;
    if (integer_field(body, "n", 1, 1, 1) != 1) throw HttpError(400, "n", "'n' must be 1");
    call.stream = bool_field(body, "stream", false);
    if (auto so = body.find("stream_options"); so != body.end() && so->is_object())
        call.include_usage = bool_field(*so, "include_usage", false);
    // The one request path (troupe/request.hpp); the adapter is already loaded (CastBackends).
    call.request = make_text_request(app.host, *call.character, nullptr, {situation, action, {}}, options);
    if (temperature > 0) call.request.sampling.temperature = float(temperature);
    if (top_p >= 0) call.request.sampling.top_p = float(top_p);
    if (auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
        if (stop->is_string()) call.request.stop_strings.push_back(stop->get<std::string>());
        else if (stop->is_array() && stop->size() <= 4)
            for (const auto& s : *stop) {
                if (!s.is_string() || s.get<std::string>().empty()) throw HttpError(400, "stop", "'stop' strings must be non-empty");
                call.request.stop_strings.push_back(s.get<std::string>());
            }
        else throw HttpError(400, "stop", "'stop' must be a string or up to 4 strings");
    }
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
