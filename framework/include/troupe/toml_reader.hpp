// troupe/toml_reader.hpp — strict reading of TOML manifests (host side; plugins never see toml++): every error names file:line:column; unknown keys are errors.
#pragma once

#include <troupe/status.hpp>
#include <troupe/types.hpp>

#include <toml++/toml.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::detail {

/// "file:line:col" of a node (or just the file when the node has no source position).
std::string where(const std::string& file, const toml::node& node);

/// Parses a file; throws Error(invalid_file) with file:line:col on a syntax error.
toml::table parse_toml_file(const std::string& path);

/// Parses TOML text already in memory (a request body), `name` standing for its file in errors;
/// the same size limit and errors as parse_toml_file.
toml::table parse_toml_text(std::string_view text, const std::string& name);

/// A view over one table that remembers which keys were read, so unknown keys can be reported.
class TableReader {
public:
    TableReader(const std::string& file, const toml::table& table, std::string prefix = {});

    bool has(const std::string& key) const;
    std::string string(const std::string& key, bool required = false, const std::string& fallback = {});
    int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max);
    double number(const std::string& key, double fallback, double min, double max);
    bool boolean(const std::string& key, bool fallback);
    std::vector<std::string> strings(const std::string& key);
    /// A sub-table, or nullptr if absent (wrong type is an error).
    const toml::table* table(const std::string& key);
    /// An array of tables (e.g. [[eval.scenarios]]); empty if absent.
    std::vector<const toml::table*> tables(const std::string& key);
    /// Flattens a table of scalars (and nested tables) to "a.b" = "value" strings.
    Params flat(const std::string& key);
    /// Throws on the first key that was never read.
    void reject_unknown() const;

    [[noreturn]] void fail(const toml::node& node, const std::string& message) const;
    [[noreturn]] void fail_key(const std::string& key, const std::string& message) const;
    const std::string& file() const { return file_; }

private:
    const toml::node* get(const std::string& key);
    std::string file_;
    const toml::table& table_;
    std::string prefix_;
    std::set<std::string> read_;
};

}  // namespace troupe::detail
