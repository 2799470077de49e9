// The safetensors format, read and written by drt itself: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__":
// {...}}, then raw little-endian tensor data. F32, F16, BF16, F64, I64, I32 are supported.
#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace drt {

struct SafetensorsFile {
  std::map<std::string, at::Tensor> tensors;        // CPU tensors, in their stored dtype
  std::map<std::string, std::string> metadata;
};

// Throws drt::Error naming the file for a truncated file, a bad header, unknown dtypes,
// overlapping or out-of-range offsets.
SafetensorsFile read_safetensors(const std::string& path);

// Writes atomically. Tensors are written in their own dtype (contiguous, CPU).
void write_safetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace drt
