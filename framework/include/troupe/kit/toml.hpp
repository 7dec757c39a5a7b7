// troupe/kit/toml.hpp — plugin kit: strict TOML reading for a plugin's own files (training recipes):
// every error names file:line:column, unknown keys are errors. toml++ types stay inside the plugin;
// they never cross the plugin boundary.
#pragma once

#include <troupe/toml_reader.hpp>

namespace troupe::kit {
using detail::parse_toml_file;  // toml::table parse_toml_file(path)
using detail::TableReader;      // TableReader(file, table, prefix): string/integer/number/boolean/… + reject_unknown()
using detail::where;            // "file:line:col" of a node
}  // namespace troupe::kit
