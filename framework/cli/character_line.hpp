// The one place where the CLI and the server turn a character and a situation into backend
// requests (prompt template, sampling, stop strings, adapter, hooks) and pick its voice. When the
// host gains its own functions for this (contract v2), only this file's .cpp changes.
#pragma once

#include <troupe/host.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace troupe::cli {

/// Per-request overrides of the character's sampling settings (unset: the character's).
struct LineOptions {
    int64_t seed = -1;
    int max_new_tokens = 0;
    bool greedy = false;
    float temperature = -1;  // < 0: the character's
    float top_p = -1;
};

/// The text request for one line of `c`: its prompt with the situation and stage direction, its
/// sampling with `options` applied, stop strings and adapter (loaded under the character's id), and
/// its hooks' before_generate. Throws Error when a hook fails.
TextRequest line_request(const Host& host, const Character& c, const std::string& situation,
                         const std::string& action, const LineOptions& options = {});

/// Runs the character's after_generate hook on a generated line (no-op without hooks).
Status finish_line(const Host& host, const Character& c, std::string& text);

/// The voice a character uses for `emotion` (its default voice when it has no such emotion).
Voice voice_for(const Character& c, const std::string& emotion);

}  // namespace troupe::cli
