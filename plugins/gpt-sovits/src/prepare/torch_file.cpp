#include "prepare/torch_file.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <filesystem>
#include <fstream>

namespace troupe::sovits::prepare {

void save_tensor_pt(const std::string& path, const at::Tensor& tensor) {
    const at::Tensor t = tensor.detach().to(at::kCPU).contiguous().clone();
    const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(t));
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(Errc::runtime, tmp + ": cannot create the file");
        out.write(bytes.data(), std::streamsize(bytes.size()));
        out.flush();
        if (!out) throw Error(Errc::runtime, tmp + ": write failed");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw Error(Errc::runtime, fmt::format("{}: cannot rename into place: {}", path, ec.message()));
}

at::Tensor load_tensor_pt(const std::string& path) {
    const pt::Checkpoint ckpt = pt::Checkpoint::open(path);
    if (!ckpt.root().is_tensor())
        throw Error(Errc::invalid_file, fmt::format("{}: holds a {}, not a tensor", path, ckpt.root().kind_name()));
    return ckpt.root().as_tensor().clone();
}

}  // namespace troupe::sovits::prepare
