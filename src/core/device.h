#pragma once
#include <c10/core/Device.h>

#include <string>

namespace drt {

// The device a command computes on, from its --device value:
//   "cpu"      the CPU (the default everywhere);
//   "cuda"     a CUDA GPU: rank r of a data-parallel run takes GPU r mod (GPUs visible);
//   "cuda:N"   GPU N;
//   "auto"     "cuda" when this LibTorch has CUDA and a GPU is visible, else "cpu".
// A CUDA value on a LibTorch built without CUDA, or with no GPU visible, is an Error that
// says which of the two it is.
c10::Device parse_device(const std::string& name, int rank = 0);

// True when this LibTorch was built with CUDA and at least one GPU is visible.
bool cuda_available();
// GPUs visible to this process (0 without CUDA).
int cuda_device_count();

}  // namespace drt
