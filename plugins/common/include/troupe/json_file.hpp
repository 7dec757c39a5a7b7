// troupe/json_file.hpp — reading a JSON file (configs, vocabularies) with errors that name the file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace troupe {

/// Parses `path`; throws Error(not_found) when it cannot be opened and Error(invalid_file)
/// ("<path>: not valid JSON: …") when it does not parse.
nlohmann::json read_json_file(const std::string& path);

}  // namespace troupe
