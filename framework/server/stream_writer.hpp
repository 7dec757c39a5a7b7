// Internal: writing a chunked response as it is produced, and noticing a client that went away.
// cpp-httplib reports a failed write through DataSink::write; a peer that closed its socket makes the
// second write after the close fail, so long-running work probes the connection now and then
// (an SSE comment line, or JSON-insignificant whitespace before a JSON body).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace troupe::server {

class StreamWriter {
public:
    enum class Kind { sse, json };
    StreamWriter(httplib::DataSink& sink, Kind kind) : sink_(sink), kind_(kind) {}

    /// Writes raw bytes; false once the client is gone (and for every later call).
    bool write(const std::string& bytes);
    /// One SSE event: "data: <json>\n\n" (with "event: <name>" and "id: <n>" lines when given).
    bool event(const nlohmann::json& data, const std::string& name = {}, long id = -1);
    /// "data: [DONE]\n\n", OpenAI's end of stream.
    bool done_marker() { return write("data: [DONE]\n\n"); }
    /// Probes the connection at most every `interval` (an SSE comment or a space); false when gone.
    bool alive(std::chrono::milliseconds interval = std::chrono::milliseconds(100));
    /// Ends the chunked body.
    void finish() { if (ok_) sink_.done(); }
    bool ok() const { return ok_; }

private:
    httplib::DataSink& sink_;
    Kind kind_;
    bool ok_ = true;
    std::chrono::steady_clock::time_point last_probe_{};
};

}  // namespace troupe::server
