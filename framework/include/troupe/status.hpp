// troupe/status.hpp — error values that cross the plugin boundary instead of exceptions.
#pragma once

#include <string>
#include <utility>

namespace troupe {

/// What kind of failure a Status carries. The CLI maps these to exit codes (see docs/cli.md).
enum class Errc {
    ok = 0,
    invalid_argument,   // bad user input: empty or overlong text, unknown option value
    invalid_file,       // malformed or truncated file (manifest, safetensors, WAV, checkpoint)
    not_found,          // missing file, character, plugin, adapter
    unsupported,        // valid input the backend does not handle (e.g. DoRA adapters)
    init_failed,        // a plugin or model failed to initialise
    runtime,            // failure while running (out of memory, backend error)
    cancelled,          // stopped by the user
};

/// Success, or an error code with a message that names the file and what is wrong.
class Status {
public:
    Status() = default;
    static Status error(Errc code, std::string message) { return Status(code, std::move(message)); }

    bool ok() const noexcept { return code_ == Errc::ok; }
    explicit operator bool() const noexcept { return ok(); }
    Errc code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }

private:
    Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
    Errc code_ = Errc::ok;
    std::string message_;
};

/// The exception used inside the host and inside plugins; converted to a Status at the boundary.
class Error : public std::exception {
public:
    Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
    Errc code() const noexcept { return code_; }
    const char* what() const noexcept override { return message_.c_str(); }
    Status status() const { return Status::error(code_, message_); }

private:
    Errc code_;
    std::string message_;
};

/// Runs `body` and turns any exception into a Status (use at every plugin entry; "Lippincott").
template <class F>
Status guard(F&& body) noexcept {
    try {
        body();
        return {};
    } catch (const Error& e) {
        return e.status();
    } catch (const std::bad_alloc&) {
        return Status::error(Errc::runtime, "out of memory");
    } catch (const std::exception& e) {
        return Status::error(Errc::runtime, e.what());
    } catch (...) {
        return Status::error(Errc::runtime, "unknown exception");
    }
}

}  // namespace troupe
