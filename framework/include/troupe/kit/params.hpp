// troupe/kit/params.hpp — plugin kit: reading a plugin's flat parameters (troupe::Params) with errors
// that name the plugin and the key, and resolving the paths they hold.
//
//     kit::ParamReader p("gpt-sovits", {&request.voice.params, &params_});  // first layer wins
//     so.top_k = p.integer("top_k", 15, 1, 1000);   // "gpt-sovits: parameter 'top_k' = 'x' is not an integer"
//     o.s1_path = p.path("model.s1", true);         // relative → against "host.data_dir"
#pragma once

#include <troupe/types.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace troupe::kit {

class ParamReader {
public:
    /// Looks keys up in `layers` in order (an empty value counts as absent). Errors start "<plugin>: ".
    ParamReader(std::string plugin, std::vector<const Params*> layers);
    ParamReader(std::string plugin, const Params& params) : ParamReader(std::move(plugin), {&params}) {}

    /// The value of `key` in the first layer that sets it non-empty, or nullptr.
    const std::string* find(const std::string& key) const;
    bool has(const std::string& key) const { return find(key) != nullptr; }
    /// The value, or `fallback`; `required` makes an absent key an Error(invalid_argument).
    std::string string(const std::string& key, const std::string& fallback = {}, bool required = false) const;
    /// Numbers in [min, max]; anything else is an Error(invalid_argument) naming the key and value.
    double number(const std::string& key, double fallback, double min = std::numeric_limits<double>::lowest(),
                  double max = std::numeric_limits<double>::max()) const;
    int64_t integer(const std::string& key, int64_t fallback, int64_t min = std::numeric_limits<int64_t>::min(),
                    int64_t max = std::numeric_limits<int64_t>::max()) const;
    /// true/false, 1/0, yes/no, on/off.
    bool boolean(const std::string& key, bool fallback) const;
    /// A path: absolute as given, relative resolved against "host.data_dir" (the source tree or the
    /// installed data directory, where the embedded models live). "" when absent and not required.
    std::string path(const std::string& key, bool required = false) const;

    /// Throws Error(invalid_argument, "<plugin>: parameter '<key>' <what>").
    [[noreturn]] void fail(const std::string& key, const std::string& what) const;
    const std::string& plugin() const { return plugin_; }

private:
    std::string plugin_;
    std::vector<const Params*> layers_;
};

/// True if `path` (absolute, normalised) lies inside `dir`.
bool path_inside(const std::string& path, const std::string& dir);
/// `path` resolved (absolute, `..` removed, symlinks followed as far as it exists); throws
/// Error(invalid_argument) naming `what` unless it lies inside one of `dirs` (resolved the same way)
/// — for files a user's data may point to: a character folder plus troupe.toml [characters] allow_dirs.
std::string confine_path(const std::string& path, const std::vector<std::string>& dirs, const std::string& what);

}  // namespace troupe::kit
