// Where the llama tests run their models: TROUPE_TEST_DEVICE ("cpu" by default, "cuda", "cuda:1").
// On CUDA, TF32 is switched off so the float32 tolerances hold.
#pragma once

#include "model.hpp"

#include <ATen/Context.h>

#include <cstdlib>

namespace llm_test {

inline troupe::llama::LoadOptions test_load_options() {
    troupe::llama::LoadOptions o;
    const char* device = std::getenv("TROUPE_TEST_DEVICE");
    if (device && *device) o.device = device;
    if (o.device != "cpu") {
        at::globalContext().setAllowTF32CuBLAS(false);
        at::globalContext().setAllowTF32CuDNN(false);
    }
    return o;
}

}  // namespace llm_test
