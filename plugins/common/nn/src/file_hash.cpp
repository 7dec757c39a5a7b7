#include <troupe/kit/sha256.hpp>
#include <troupe/nn/file_hash.hpp>

#include <algorithm>
#include <filesystem>

namespace troupe::nn {

std::string model_sha256(const std::vector<std::string>& paths) {
    if (paths.size() == 1) return kit::sha256_file(paths[0]);
    std::string lines;
    for (const std::string& p : paths) lines += std::filesystem::path(p).filename().string() + " " + kit::sha256_file(p) + "\n";
    return kit::sha256_hex(lines);
}

std::vector<std::string> weight_files(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> st, bin;
    if (fs::is_directory(dir))
        for (const auto& e : fs::directory_iterator(dir)) {
            const std::string name = e.path().filename().string();
            if (e.path().extension() == ".safetensors") st.push_back(e.path().string());
            else if (name.rfind("pytorch_model", 0) == 0 && e.path().extension() == ".bin") bin.push_back(e.path().string());
        }
    std::vector<std::string>& out = st.empty() ? bin : st;
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace troupe::nn
