// Data parallelism through LibTorch's c10d: Gloo (CPU tensors, and CUDA tensors where
// LibTorch has CUDA) or NCCL (CUDA, one GPU per rank). One all-reduce of all gradients
// (flattened into one buffer) per optimizer step; rank 0 writes every file.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

namespace drt {

class Distributed {
 public:
  // world_size 1: every call is a no-op. Otherwise rendezvous at master "HOST:PORT"
  // (rank 0 hosts the TCP store) and build a process group of `backend`: "gloo", "nccl",
  // or "auto" (NCCL when `device` is CUDA and this LibTorch has it, else Gloo).
  Distributed(int world_size, int rank, const std::string& master, const std::string& backend = "auto",
              c10::Device device = c10::Device(c10::kCPU));
  ~Distributed();
  int world_size() const { return world_size_; }
  int rank() const { return rank_; }
  // "none" (one rank), "gloo" or "nccl".
  const std::string& backend() const { return backend_; }
  // Rank 0's values overwrite everyone's (same start whatever each rank initialised).
  void broadcast_parameters(const std::vector<at::Tensor>& params);
  // Sums the gradients over ranks (the loss is already divided by the world size).
  void all_reduce_gradients(const std::vector<at::Tensor>& params);
  // Mean of a scalar over ranks.
  double mean(double value);
  void barrier();

  // Which backends this build has.
  static bool has_gloo();
  static bool has_nccl();

 private:
  struct Impl;
  int world_size_, rank_;
  std::string backend_ = "none";
  c10::Device device_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drt
