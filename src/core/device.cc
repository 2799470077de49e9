#include "core/device.h"

#include <torch/cuda.h>

#include <cstdlib>

#include "core/error.h"

namespace drt {

bool cuda_available() { return torch::cuda::is_available(); }
int cuda_device_count() { return cuda_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

c10::Device parse_device(const std::string& name, int rank) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "auto") return cuda_available() ? parse_device("cuda", rank) : c10::Device(c10::kCPU);
  const bool cuda = name == "cuda" || name.rfind("cuda:", 0) == 0;
  DRT_CHECK(cuda, "--device must be cpu, cuda, cuda:N or auto, got '", name, "'");
#ifdef DRT_TORCH_HAS_CUDA
  DRT_CHECK(torch::cuda::is_available(), "--device ", name, ": no CUDA GPU is visible to this process");
#else
  throw Error(str_cat("--device ", name, ": this drt was built against a LibTorch without CUDA (",
                      "build it against a CUDA LibTorch: see the README's \"Build with CUDA\")"));
#endif
  const int gpus = cuda_device_count();
  if (name == "cuda") return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(rank % gpus));
  const std::string index = name.substr(5);
  char* end = nullptr;
  const long n = std::strtol(index.c_str(), &end, 10);
  DRT_CHECK(!index.empty() && *end == '\0' && n >= 0, "--device ", name, ": '", index, "' is not a GPU number");
  DRT_CHECK(n < gpus, "--device ", name, ": only ", gpus, " GPU(s) are visible (cuda:0..cuda:", gpus - 1, ")");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(n));
}

}  // namespace drt
