// troupe tts g2p --text "…" [--split METHOD] [--json]: the Korean text front-end of GPT-SoVITS v2.
#include "tts_commands.hpp"

#include <text/frontend.hpp>

#include <troupe/status.hpp>
#include <troupe/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::sovits::cli {
using kit::parse_options;
using kit::print_json;
namespace po = boost::program_options;
namespace txt = troupe::sovits::text;

namespace {

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + v[i];
    return s;
}

std::string joined(const std::vector<int>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
    return s;
}

}  // namespace

int g2p(const std::vector<std::string>& args, const CommandContext& ctx) {
    po::options_description options("troupe tts g2p");
    std::string text, split;
    options.add_options()("text", po::value(&text)->required(), "Korean text (Latin letters are spelled, numbers read)")(
        "split", po::value(&split),
        "cut into segments first, as synthesis does: cut0..cut5 or sentences")(
        "stages", "also print every intermediate stage");
    po::variables_map vm;
    if (!parse_options("troupe tts g2p --text \"…\" [--split METHOD] [--stages] [--json]", options, args, vm))
        return 0;
    check_user_text(text, "--text", 20000);

    const txt::KoreanFrontend frontend;
    std::vector<txt::KoreanStages> segments;
    if (split.empty()) segments.push_back(frontend.run(text));
    else segments = frontend.prepare_target(text, txt::parse_cut_method(split));

    std::vector<std::string> phones;
    std::vector<int> ids;
    std::string norm_text, pronounced;
    for (const auto& s : segments) {
        phones.insert(phones.end(), s.phones.begin(), s.phones.end());
        ids.insert(ids.end(), s.ids.begin(), s.ids.end());
        norm_text += s.numbers;
        pronounced += s.pronounced;
    }
    const bool stages = vm.count("stages") > 0;
    if (ctx.json) {
        nlohmann::json out = {{"phones", phones}, {"ids", ids}, {"norm_text", norm_text}, {"pronounced", pronounced}};
        if (!split.empty() || stages) {
            nlohmann::json segs = nlohmann::json::array();
            for (const auto& s : segments) {
                nlohmann::json j = {{"text", s.text},           {"norm_text", s.numbers}, {"pronounced", s.pronounced},
                                    {"phones", s.phones},       {"ids", s.ids}};
                if (stages) {
                    j["latin_to_hangul"] = s.latin_to_hangul;
                    j["divide_hangul"] = s.divide_hangul;
                    j["fix_g2pk2_error"] = s.fix_g2pk2_error;
                    j["final_period"] = s.final_period;
                }
                segs.push_back(std::move(j));
            }
            out["segments"] = std::move(segs);
        }
        print_json(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return 0;
    }
    for (size_t i = 0; i < segments.size(); ++i) {
        const auto& s = segments[i];
        if (segments.size() > 1) fmt::print("segment {}: {}\n", i + 1, s.text);
        if (stages) {
            fmt::print("latin_to_hangul: {}\n", s.latin_to_hangul);
            fmt::print("numbers:         {}\n", s.numbers);
            fmt::print("pronounced:      {}\n", s.pronounced);
            fmt::print("divide_hangul:   {}\n", s.divide_hangul);
            fmt::print("final_period:    {}\n", s.final_period);
        } else {
            fmt::print("norm_text:  {}\npronounced: {}\n", s.numbers, s.pronounced);
        }
        fmt::print("phones ({}): {}\nids: {}\n", s.phones.size(), joined(s.phones), joined(s.ids));
    }
    return 0;
}

}  // namespace troupe::sovits::cli
