// Data parallelism through LibTorch's c10d: Gloo on CPU. One all-reduce of all gradients
// (flattened into one buffer) per optimizer step; rank 0 writes every file.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace drt {

class Distributed {
 public:
  // world_size 1: every call is a no-op. Otherwise rendezvous at master "HOST:PORT"
  // (rank 0 hosts the TCP store) and build a Gloo process group.
  Distributed(int world_size, int rank, const std::string& master);
  ~Distributed();
  int world_size() const { return world_size_; }
  int rank() const { return rank_; }
  // Rank 0's values overwrite everyone's (same start whatever each rank initialised).
  void broadcast_parameters(const std::vector<at::Tensor>& params);
  // Sums the gradients over ranks (the loss is already divided by the world size).
  void all_reduce_gradients(const std::vector<at::Tensor>& params);
  // Mean of a scalar over ranks.
  double mean(double value);
  void barrier();

 private:
  struct Impl;
  int world_size_, rank_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drt
