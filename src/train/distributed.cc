#include "train/distributed.h"

#include <ATen/ATen.h>

#include "core/error.h"

#ifdef DRT_HAVE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef DRT_HAVE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#if defined(DRT_HAVE_C10D_GLOO) || defined(DRT_HAVE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define DRT_HAVE_C10D 1
#endif

namespace drt {

struct Distributed::Impl {
#ifdef DRT_HAVE_C10D
  c10::intrusive_ptr<c10d::Store> store;
  // One of the two is set. Their common base differs between LibTorch 1.13 (ProcessGroup)
  // and 2.x (Backend), so each is held by its own type.
#ifdef DRT_HAVE_C10D_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef DRT_HAVE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  template <class F>
  void with_group(F&& f) {
#ifdef DRT_HAVE_C10D_NCCL
    if (nccl) return f(*nccl);
#endif
#ifdef DRT_HAVE_C10D_GLOO
    if (gloo) return f(*gloo);
#endif
  }
#endif
};

bool Distributed::has_gloo() {
#ifdef DRT_HAVE_C10D_GLOO
  return true;
#else
  return false;
#endif
}

bool Distributed::has_nccl() {
#ifdef DRT_HAVE_C10D_NCCL
  return true;
#else
  return false;
#endif
}

Distributed::Distributed(int world_size, int rank, const std::string& master, const std::string& backend,
                         c10::Device device)
    : world_size_(world_size), rank_(rank), device_(device) {
  DRT_CHECK(world_size >= 1, "--world-size must be >= 1, got ", world_size);
  DRT_CHECK(rank >= 0 && rank < world_size, "--rank ", rank, " is outside [0, ", world_size, ")");
  DRT_CHECK(backend == "auto" || backend == "gloo" || backend == "nccl",
            "--backend must be auto, gloo or nccl, got '", backend, "'");
  if (world_size == 1) return;
  std::string chosen = backend;
  if (chosen == "auto") chosen = device.is_cuda() && has_nccl() ? "nccl" : "gloo";
  if (chosen == "nccl") {
    DRT_CHECK(has_nccl(), "--backend nccl: this drt was built without c10d/NCCL (it needs a CUDA LibTorch)");
    DRT_CHECK(device.is_cuda(), "--backend nccl needs --device cuda (NCCL all-reduces GPU tensors)");
  } else {
    DRT_CHECK(has_gloo(),
              "this drt was built without c10d/Gloo: data-parallel training (--world-size > 1) is unavailable",
              has_nccl() ? " on the CPU (with --device cuda, --backend nccl works)" : "");
  }
  backend_ = chosen;
#ifdef DRT_HAVE_C10D
  auto colon = master.rfind(':');
  DRT_CHECK(colon != std::string::npos, "--master must be HOST:PORT, got '", master, "'");
  const std::string host = master.substr(0, colon);
  const int port = std::atoi(master.substr(colon + 1).c_str());
  DRT_CHECK(port > 0 && port < 65536, "--master port must be 1..65535, got '", master.substr(colon + 1), "'");
  impl_ = std::make_unique<Impl>();
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(port);
  store_options.isServer = rank == 0;
  store_options.numWorkers = world_size;
  store_options.timeout = std::chrono::seconds(120);
  impl_->store = c10::make_intrusive<c10d::TCPStore>(host, store_options);
#ifdef DRT_HAVE_C10D_NCCL
  if (chosen == "nccl") {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = std::chrono::seconds(600);
    c10::cuda::set_device(device.index());
    impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, rank, world_size, options);
    return;
  }
#endif
#ifdef DRT_HAVE_C10D_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
  options->timeout = std::chrono::seconds(600);
  impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, rank, world_size, options);
#endif
#endif
}

Distributed::~Distributed() = default;

void Distributed::broadcast_parameters(const std::vector<at::Tensor>& params) {
  if (world_size_ == 1) return;
#ifdef DRT_HAVE_C10D
  at::NoGradGuard ng;
  std::vector<at::Tensor> flat{at::cat([&] {
    std::vector<at::Tensor> v;
    for (const auto& p : params) v.push_back(p.detach().reshape({-1}));
    return v;
  }())};
  impl_->with_group([&](auto& g) { g.broadcast(flat)->wait(); });
  int64_t offset = 0;
  for (const auto& p : params) {
    p.detach().copy_(flat[0].narrow(0, offset, p.numel()).view_as(p));
    offset += p.numel();
  }
#endif
}

void Distributed::all_reduce_gradients(const std::vector<at::Tensor>& params) {
  if (world_size_ == 1) return;
#ifdef DRT_HAVE_C10D
  std::vector<at::Tensor> pieces;
  for (const auto& p : params)
    pieces.push_back(p.grad().defined() ? p.grad().reshape({-1}) : at::zeros({p.numel()}, p.options()));
  std::vector<at::Tensor> flat{at::cat(pieces)};
  impl_->with_group([&](auto& g) { g.allreduce(flat)->wait(); });
  int64_t offset = 0;
  for (const auto& p : params) {
    auto g = flat[0].narrow(0, offset, p.numel()).view_as(p);
    if (p.grad().defined()) p.mutable_grad().copy_(g);
    else p.mutable_grad() = g.clone();
    offset += p.numel();
  }
#endif
}

double Distributed::mean(double value) {
  if (world_size_ == 1) return value;
#ifdef DRT_HAVE_C10D
  // NCCL reduces only GPU tensors; Gloo takes either.
  std::vector<at::Tensor> t{at::full({1}, value, at::TensorOptions().dtype(at::kDouble).device(device_))};
  impl_->with_group([&](auto& g) { g.allreduce(t)->wait(); });
  return t[0].item<double>() / world_size_;
#else
  return value;
#endif
}

void Distributed::barrier() {
  if (world_size_ == 1) return;
#ifdef DRT_HAVE_C10D
  impl_->with_group([&](auto& g) { g.barrier()->wait(); });
#endif
}

}  // namespace drt
