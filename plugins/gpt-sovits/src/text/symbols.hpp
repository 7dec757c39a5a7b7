// The GPT-SoVITS v2 phone symbol table (upstream text/symbols2.py): 732 entries, id = index.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace troupe::sovits::text {

class SymbolTable {
public:
    /// The built-in v2 table (upstream's list, in order).
    static const SymbolTable& v2();
    /// A table read from a JSON file {"symbols": [...]} (e.g. a fixture's symbols_v2.json).
    static SymbolTable from_json_file(const std::string& path);

    explicit SymbolTable(std::vector<std::string> symbols);

    size_t size() const { return symbols_.size(); }
    const std::vector<std::string>& symbols() const { return symbols_; }
    const std::string& symbol(int id) const;
    /// Id of a symbol, or -1 when it is not in the table.
    int find(std::string_view symbol) const;
    bool contains(std::string_view symbol) const { return find(symbol) >= 0; }
    /// Id of a symbol; throws troupe::Error(invalid_argument) when it is not in the table.
    int id(std::string_view symbol) const;
    std::vector<int> ids(const std::vector<std::string>& phones) const;

private:
    std::vector<std::string> symbols_;
    std::vector<int> sorted_;  // indices sorted by symbol, for lookup
};

}  // namespace troupe::sovits::text
