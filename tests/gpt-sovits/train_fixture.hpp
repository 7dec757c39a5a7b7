// Shared by test_s1_train_conformance and test_s2_train_conformance: where the gpt-sovits-train
// fixture set lives (TROUPE_CONFORMANCE_DIR, default ../shared/conformance), its cases.json section,
// the skip-with-a-message check for files a set may not ship, and two error measures (each test
// keeps its own relative L2, their zero-norm conventions differ). Header-only; include inside a test's own translation unit.
#pragma once
#include "../common/conformance.hpp"

#include <boost/test/unit_test.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace troupe::test::train_fixture {

/// <TROUPE_CONFORMANCE_DIR or ../shared/conformance>/gpt-sovits-train
inline std::filesystem::path root() {
    return conformance_dir("gpt-sovits-train");
}

/// cases.json's `section` ("s1", "s2"), or nullopt (with a message) when the set has none.
inline std::optional<nlohmann::json> cases(const std::string& section) {
    const std::filesystem::path p = root() / "cases.json";
    if (!std::filesystem::exists(p)) {
        BOOST_TEST_MESSAGE("skipped: no " << p);
        return std::nullopt;
    }
    std::ifstream in(p);
    const auto j = nlohmann::json::parse(in);
    if (!j.contains(section)) {
        BOOST_TEST_MESSAGE("skipped: " << p << " has no " << section << " section");
        return std::nullopt;
    }
    return j.at(section);
}

/// True when the file exists; otherwise a "skipped" message (a twin file a set does not ship).
inline bool have(const std::filesystem::path& p) {
    if (std::filesystem::exists(p)) return true;
    BOOST_TEST_MESSAGE("skipped: the fixture set has no " << p);
    return false;
}

inline double max_abs(const at::Tensor& a, const at::Tensor& b) {
    return (a.detach().to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

inline double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

}  // namespace troupe::test::train_fixture
