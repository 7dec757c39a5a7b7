#include "stream_writer.hpp"

namespace troupe::server {

bool StreamWriter::write(const std::string& bytes) {
    if (!ok_) return false;
    if (bytes.empty()) return true;
    ok_ = sink_.write(bytes.data(), bytes.size());
    return ok_;
}

bool StreamWriter::event(const nlohmann::json& data, const std::string& name, long id) {
    std::string text;
    if (id >= 0) text += "id: " + std::to_string(id) + "\n";
    if (!name.empty()) text += "event: " + name + "\n";
    text += "data: " + data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
    return write(text);
}

bool StreamWriter::alive(std::chrono::milliseconds interval) {
    if (!ok_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_probe_ < interval) return true;
    last_probe_ = now;
    return write(kind_ == Kind::sse ? std::string(": keep-alive\n\n") : std::string(" "));
}

}  // namespace troupe::server
