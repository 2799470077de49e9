#include "io/safetensors.h"

#include <ATen/ATen.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/file_util.h"

namespace drt {

namespace {

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  size_t bytes;
};

const std::vector<DtypeInfo>& dtypes() {
  static const std::vector<DtypeInfo> table = {
      {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},  {"BF16", at::kBFloat16, 2}, {"F64", at::kDouble, 8},
      {"I64", at::kLong, 8},  {"I32", at::kInt, 4},   {"U8", at::kByte, 1},       {"BOOL", at::kBool, 1}};
  return table;
}

const DtypeInfo* by_name(const std::string& name) {
  for (const auto& d : dtypes())
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo& by_type(at::ScalarType t) {
  for (const auto& d : dtypes())
    if (d.type == t) return d;
  throw Error(str_cat("safetensors: cannot store dtype ", c10::toString(t)));
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::vector<char> bytes = read_binary_file(path);
  DRT_CHECK(bytes.size() >= 8, path, ": truncated safetensors file (", bytes.size(), " bytes, no header length)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  DRT_CHECK(header_len <= bytes.size() - 8, path, ": header length ", header_len, " runs past the end of the ",
            bytes.size(), "-byte file (truncated or not safetensors)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(header_len));
  } catch (const nlohmann::json::exception& e) {
    throw Error(str_cat(path, ": bad safetensors header: ", e.what()));
  }
  DRT_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  const size_t data_start = 8 + header_len;
  const size_t data_size = bytes.size() - data_start;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      DRT_CHECK(entry.is_object(), path, ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items())
        file.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    DRT_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") && entry.contains("data_offsets"),
              path, ": tensor '", name, "' lacks dtype, shape or data_offsets");
    const std::string dt = entry["dtype"].get<std::string>();
    const DtypeInfo* info = by_name(dt);
    DRT_CHECK(info != nullptr, path, ": tensor '", name, "' has unsupported dtype ", dt);
    std::vector<int64_t> shape;
    size_t numel = 1;
    for (const auto& s : entry["shape"]) {
      DRT_CHECK(s.is_number_integer() && s.get<int64_t>() >= 0, path, ": tensor '", name, "' has a bad shape ",
                entry["shape"].dump());
      shape.push_back(s.get<int64_t>());
      numel *= static_cast<size_t>(s.get<int64_t>());
    }
    const auto& off = entry["data_offsets"];
    DRT_CHECK(off.is_array() && off.size() == 2, path, ": tensor '", name, "' has bad data_offsets ", off.dump());
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    DRT_CHECK(begin <= end && end <= data_size, path, ": tensor '", name, "' data [", begin, ", ", end,
              ") runs past the ", data_size, " data bytes (truncated file?)");
    DRT_CHECK(end - begin == numel * info->bytes, path, ": tensor '", name, "' has ", end - begin,
              " bytes, its shape and dtype need ", numel * info->bytes);
    ranges.emplace_back(begin, end);
    auto t = at::empty(shape, at::TensorOptions().dtype(info->type));
    if (numel > 0) std::memcpy(t.data_ptr(), bytes.data() + data_start + begin, end - begin);
    file.tensors[name] = t;
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    DRT_CHECK(ranges[i].first >= ranges[i - 1].second, path, ": tensor data ranges overlap");
  return file;
}

void write_safetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> ordered;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().to(at::kCPU).contiguous();
    const DtypeInfo& info = by_type(c.scalar_type());
    const uint64_t n = static_cast<uint64_t>(c.numel()) * info.bytes;
    header[name] = {{"dtype", info.name}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    ordered.push_back(c);
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // keep tensor data 8-byte aligned
  std::string out;
  out.resize(8 + h.size() + offset);
  uint64_t len = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  std::memcpy(&out[8], h.data(), h.size());
  size_t pos = 8 + h.size();
  for (const auto& c : ordered) {
    const size_t n = static_cast<size_t>(c.numel()) * c.element_size();
    if (n) std::memcpy(&out[pos], c.data_ptr(), n);
    pos += n;
  }
  write_file_atomic(path, out);
}

}  // namespace drt
