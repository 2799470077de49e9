#include "kernels/numeric_check.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace drt {

namespace {

std::string index_string(int64_t flat, at::IntArrayRef sizes) {
  std::vector<int64_t> idx(sizes.size());
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    idx[d] = sizes[d] == 0 ? 0 : flat % sizes[d];
    flat = sizes[d] == 0 ? 0 : flat / sizes[d];
  }
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < idx.size(); ++i) os << (i ? ", " : "") << idx[i];
  os << "]";
  return os.str();
}

}  // namespace

std::string CloseReport::describe(const std::string& name) const {
  std::ostringstream os;
  os.precision(3);
  os << name << ": max error " << std::scientific << max_error << " (allowed " << allowed << ", baseline error "
     << baseline_error << "), worst " << worst;
  return os.str();
}

CloseReport check_close(const at::Tensor& actual, const at::Tensor& exact, const at::Tensor& baseline, double factor,
                        double floor_rel, double scale) {
  DRT_CHECK(actual.sizes() == exact.sizes(), "check_close: actual ", actual.sizes(), " vs exact ", exact.sizes());
  DRT_CHECK(!baseline.defined() || baseline.sizes() == exact.sizes(), "check_close: baseline ", baseline.sizes(),
            " vs exact ", exact.sizes());
  CloseReport r;
  const auto a = actual.detach().to(at::kCPU, at::kDouble).reshape(-1);
  const auto e = exact.detach().to(at::kCPU, at::kDouble).reshape(-1);
  if (a.numel() == 0) {
    r.ok = true;
    r.worst = "(empty)";
    return r;
  }
  const auto err = (a - e).abs();
  const bool finite = a.isfinite().all().item<bool>();
  const int64_t worst = finite ? err.argmax().item<int64_t>() : a.isfinite().logical_not().nonzero()[0][0].item<int64_t>();
  r.max_error = finite ? err.max().item<double>() : INFINITY;
  if (baseline.defined()) {
    const auto b = baseline.detach().to(at::kCPU, at::kDouble).reshape(-1);
    r.baseline_error = (b - e).abs().max().item<double>();
  }
  const double floor = floor_rel * std::max(e.abs().max().item<double>(), scale);
  r.allowed = factor * r.baseline_error + floor;
  r.ok = finite && r.max_error <= r.allowed;
  std::ostringstream os;
  os.precision(7);
  os << "at " << index_string(worst, actual.sizes()) << ": actual " << a[worst].item<double>() << ", exact "
     << e[worst].item<double>();
  if (baseline.defined())
    os << ", baseline " << baseline.detach().to(at::kCPU, at::kDouble).reshape(-1)[worst].item<double>();
  r.worst = os.str();
  return r;
}

GradcheckReport gradcheck(const std::function<at::Tensor(const std::vector<at::Tensor>&)>& fn,
                          const std::vector<at::Tensor>& inputs, double eps, double atol, double rtol,
                          int64_t max_per_input, uint64_t seed) {
  GradcheckReport report;
  std::vector<at::Tensor> xs, diff_inputs;
  std::vector<size_t> diff_pos;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& t = inputs[i];
    if (t.defined() && t.requires_grad()) {
      DRT_CHECK(t.scalar_type() == at::kDouble, "gradcheck: input ", i, " must be float64, got ", t.scalar_type());
      auto x = t.detach().clone().requires_grad_(true);
      diff_inputs.push_back(x);
      diff_pos.push_back(i);
      xs.push_back(x);
    } else {
      xs.push_back(t);
    }
  }
  const auto out = fn(xs);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto cot = at::randn(out.sizes(), gen, out.options().requires_grad(false));
  const auto analytic = torch::autograd::grad({(out * cot).sum()}, diff_inputs, {}, false, false, true);

  std::ostringstream failures;
  int n_failures = 0;
  at::NoGradGuard no_grad;
  auto value = [&](const std::vector<at::Tensor>& args) { return (fn(args) * cot).sum().item<double>(); };
  for (size_t k = 0; k < diff_inputs.size(); ++k) {
    const size_t i = diff_pos[k];
    auto x = inputs[i].detach().clone();
    auto flat = x.view(-1);
    auto ana = analytic[k].defined() ? analytic[k].reshape(-1) : at::zeros_like(flat);
    std::vector<at::Tensor> args = xs;
    for (auto& a : args)
      if (a.defined()) a = a.detach();
    args[i] = x;
    const int64_t n = flat.numel();
    const int64_t step = (max_per_input > 0 && n > max_per_input) ? n / max_per_input : 1;
    for (int64_t j = 0; j < n; j += step) {
      const double orig = flat[j].item<double>();
      flat[j] = orig + eps;
      const double plus = value(args);
      flat[j] = orig - eps;
      const double minus = value(args);
      flat[j] = orig;
      const double numeric = (plus - minus) / (2 * eps);
      const double a = ana[j].item<double>();
      ++report.checked;
      if (!(std::abs(numeric - a) <= atol + rtol * std::abs(numeric))) {
        if (n_failures < 8)
          failures << "input " << i << " element " << index_string(j, x.sizes()) << ": numeric " << numeric
                   << ", analytic " << a << "\n";
        ++n_failures;
      }
    }
  }
  report.ok = n_failures == 0;
  report.message = n_failures == 0 ? "ok" : str_cat(n_failures, " mismatches:\n", failures.str());
  return report;
}

}  // namespace drt
