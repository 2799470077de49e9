#include "memory/memory_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace drt {

uint64_t hash_bytes(const void* data, size_t size, uint64_t seed) {
  // 8 bytes at a time: xor, multiply, rotate (an FNV-style mix over words), then a
  // final avalanche. Not cryptographic: it tells one model from another.
  constexpr uint64_t kMul = 0x100000001B3ULL * 0xFF51AFD7ED558CCDULL | 1;
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = seed ^ (size * 0xC4CEB9FE1A85EC53ULL);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kMul;
    h = (h << 31) | (h >> 33);
  }
  uint64_t tail = 0;
  for (size_t j = 0; i + j < size; ++j) tail |= static_cast<uint64_t>(p[i + j]) << (8 * j);
  h = (h ^ tail) * kMul;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

std::string hash_hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

void pwrite_all(int fd, const std::string& path, const void* data, int64_t size, int64_t pos) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, static_cast<size_t>(size), pos);
    if (n < 0 && errno == EINTR) continue;
    DRT_CHECK(n > 0, "cannot write memory file ", path, ": ", std::strerror(errno));
    p += n;
    pos += n;
    size -= n;
  }
}

void pread_all(int fd, const std::string& path, void* data, int64_t size, int64_t pos) {
  auto* p = static_cast<uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, static_cast<size_t>(size), pos);
    if (n < 0 && errno == EINTR) continue;
    DRT_CHECK(n >= 0, "cannot read memory file ", path, ": ", std::strerror(errno));
    DRT_CHECK(n > 0, "memory file ", path, " is truncated: it ends at byte ", pos, ", expected ", size,
              " more bytes");
    p += n;
    pos += n;
    size -= n;
  }
}

std::string header_bytes(const nlohmann::json& j, const std::string& path) {
  const std::string text = j.dump();
  DRT_CHECK(static_cast<int64_t>(text.size()) + 16 <= kMemoryFileHeaderBytes, "memory file ", path,
            ": header of ", text.size(), " bytes does not fit in ", kMemoryFileHeaderBytes);
  std::string out(static_cast<size_t>(kMemoryFileHeaderBytes), '\0');
  std::memcpy(out.data(), kMemoryFileMagic, 8);
  const uint32_t version = kMemoryFileVersion, len = static_cast<uint32_t>(text.size());
  std::memcpy(out.data() + 8, &version, 4);
  std::memcpy(out.data() + 12, &len, 4);
  std::memcpy(out.data() + 16, text.data(), text.size());
  return out;
}

const char* dtype_tag(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    default: return nullptr;
  }
}

at::ScalarType dtype_from_tag(const std::string& tag, const std::string& path) {
  for (auto t : {at::kFloat, at::kHalf, at::kBFloat16, at::kLong, at::kInt})
    if (tag == dtype_tag(t)) return t;
  throw Error(str_cat("memory file ", path, " is corrupt: state tensor dtype '", tag, "'"));
}

// Named tensors -> one blob: u64 JSON length, JSON index, data.
std::string serialize_state(const std::map<std::string, at::Tensor>& state) {
  nlohmann::json index = nlohmann::json::object();
  std::vector<at::Tensor> parts;
  int64_t offset = 0;
  for (const auto& [name, t] : state) {
    const char* tag = dtype_tag(t.scalar_type());
    DRT_CHECK(tag != nullptr, "memory file: state tensor ", name, " has unsupported dtype ", t.scalar_type());
    auto c = t.detach().to(torch::kCPU).contiguous();
    const int64_t bytes = c.numel() * static_cast<int64_t>(c.element_size());
    index[name] = {{"dtype", tag}, {"shape", c.sizes().vec()}, {"offset", offset}, {"bytes", bytes}};
    offset += bytes;
    parts.push_back(c);
  }
  const std::string text = index.dump();
  std::string blob(8 + text.size() + static_cast<size_t>(offset), '\0');
  const uint64_t len = text.size();
  std::memcpy(blob.data(), &len, 8);
  std::memcpy(blob.data() + 8, text.data(), text.size());
  char* data = blob.data() + 8 + text.size();
  int64_t pos = 0;
  for (const auto& c : parts) {
    const int64_t bytes = c.numel() * static_cast<int64_t>(c.element_size());
    if (bytes > 0) std::memcpy(data + pos, c.data_ptr(), static_cast<size_t>(bytes));
    pos += bytes;
  }
  return blob;
}

std::map<std::string, at::Tensor> deserialize_state(const std::string& blob, const std::string& path) {
  auto corrupt = [&](const std::string& what) { return Error(str_cat("memory file ", path, " is corrupt: ", what)); };
  if (blob.size() < 8) throw corrupt("state section shorter than 8 bytes");
  uint64_t len = 0;
  std::memcpy(&len, blob.data(), 8);
  if (len > blob.size() - 8) throw corrupt("state index longer than the state section");
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(blob.substr(8, len));
  } catch (const std::exception& e) {
    throw corrupt(str_cat("state index is not JSON (", e.what(), ")"));
  }
  const int64_t data_begin = 8 + static_cast<int64_t>(len), data_size = static_cast<int64_t>(blob.size()) - data_begin;
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, e] : index.items()) {
    auto dtype = dtype_from_tag(e.at("dtype").get<std::string>(), path);
    auto shape = e.at("shape").get<std::vector<int64_t>>();
    const int64_t offset = e.at("offset").get<int64_t>(), bytes = e.at("bytes").get<int64_t>();
    auto t = torch::empty(shape, torch::dtype(dtype));
    if (offset < 0 || bytes != t.numel() * static_cast<int64_t>(t.element_size()) || offset + bytes > data_size)
      throw corrupt(str_cat("state tensor ", name, " has a bad extent"));
    if (bytes > 0) std::memcpy(t.data_ptr(), blob.data() + data_begin + offset, static_cast<size_t>(bytes));
    out[name] = t;
  }
  return out;
}

nlohmann::json info_to_json(const MemoryFileInfo& info) {
  return {{"complete", true},
          {"model_hash", info.model_hash},
          {"config", info.config},
          {"storage_dtype", storage_dtype_name(info.shape.dtype)},
          {"chunk_size", info.shape.chunk_size},
          {"hidden", info.shape.hidden},
          {"block_bytes", info.shape.block_bytes()},
          {"chunks", info.chunks},
          {"text_tokens", info.text_tokens},
          {"positions", info.positions},
          {"blocks_offset", info.blocks_offset},
          {"state_offset", info.state_offset},
          {"state_bytes", info.state_bytes},
          {"state_hash", info.state_hash}};
}

int64_t file_size(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return st.st_size;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

MemoryFileInfo read_info(int fd, const std::string& path) {
  const int64_t size = file_size(fd);
  DRT_CHECK(size >= 16, "memory file ", path, " is truncated: ", size, " bytes, shorter than its header");
  char head[16];
  pread_all(fd, path, head, 16, 0);
  DRT_CHECK(std::memcmp(head, kMemoryFileMagic, 8) == 0, path, " is not a drt memory file (bad magic bytes)");
  uint32_t version = 0, len = 0;
  std::memcpy(&version, head + 8, 4);
  std::memcpy(&len, head + 12, 4);
  DRT_CHECK(version == kMemoryFileVersion, "memory file ", path, " has format version ", version,
            "; this drt reads version ", kMemoryFileVersion);
  DRT_CHECK(len + 16 <= kMemoryFileHeaderBytes, "memory file ", path, " is corrupt: header length ", len);
  DRT_CHECK(size >= 16 + static_cast<int64_t>(len), "memory file ", path, " is truncated: ", size,
            " bytes, shorter than its header");
  std::string text(len, '\0');
  pread_all(fd, path, text.data(), len, 16);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(str_cat("memory file ", path, " is corrupt: header is not JSON (", e.what(), ")"));
  }
  DRT_CHECK(j.value("complete", false), "memory file ", path,
            " is incomplete: it holds chunk blocks being written, not a saved session (was the reading "
            "interrupted, or is the file still in use as --memory disk:PATH?)");
  MemoryFileInfo info;
  try {
    info.version = version;
    info.model_hash = j.at("model_hash").get<std::string>();
    info.config = j.at("config");
    info.shape.dtype = parse_storage_dtype(j.at("storage_dtype").get<std::string>());
    info.shape.chunk_size = j.at("chunk_size").get<int64_t>();
    info.shape.hidden = j.at("hidden").get<int64_t>();
    info.chunks = j.at("chunks").get<int64_t>();
    info.text_tokens = j.at("text_tokens").get<int64_t>();
    info.positions = j.at("positions").get<int64_t>();
    info.blocks_offset = j.at("blocks_offset").get<int64_t>();
    info.state_offset = j.at("state_offset").get<int64_t>();
    info.state_bytes = j.at("state_bytes").get<int64_t>();
    info.state_hash = j.at("state_hash").get<std::string>();
    DRT_CHECK(j.at("block_bytes").get<int64_t>() == info.shape.block_bytes(), "block size");
  } catch (const std::exception& e) {
    throw Error(str_cat("memory file ", path, " is corrupt: bad header field (", e.what(), ")"));
  }
  DRT_CHECK(info.chunks >= 0 && info.shape.chunk_size > 0 && info.shape.hidden > 0 &&
                info.blocks_offset >= kMemoryFileHeaderBytes &&
                info.state_offset >= info.blocks_offset + info.chunks * info.shape.block_bytes() &&
                info.state_bytes >= 8,
            "memory file ", path, " is corrupt: inconsistent header (", info.chunks, " chunks, state at ",
            info.state_offset, ")");
  const int64_t need = info.state_offset + info.state_bytes;
  DRT_CHECK(size >= need, "memory file ", path, " is truncated: ", size, " bytes, its header says ", need);
  return info;
}

}  // namespace

void write_incomplete_memory_header(int fd, const std::string& path) {
  const std::string bytes = header_bytes({{"complete", false}}, path);
  pwrite_all(fd, path, bytes.data(), static_cast<int64_t>(bytes.size()), 0);
}

void write_memory_file(const std::string& path, MemoryFileInfo info, ChunkStore& store,
                       const std::map<std::string, at::Tensor>& state) {
  const std::string blob = serialize_state(state);
  info.version = kMemoryFileVersion;
  info.shape = store.shape();
  info.chunks = store.size();
  info.blocks_offset = kMemoryFileHeaderBytes;
  info.state_offset = info.blocks_offset + info.chunks * info.shape.block_bytes();
  info.state_bytes = static_cast<int64_t>(blob.size());
  info.state_hash = hash_hex(hash_bytes(blob.data(), blob.size()));
  const std::string header = header_bytes(info_to_json(info), path);

  namespace fs = std::filesystem;
  auto* own = dynamic_cast<FileChunkStore*>(&store);
  std::error_code ec;
  if (own != nullptr && fs::exists(path) && fs::equivalent(own->path(), path, ec)) {
    // In place: the blocks are there; state behind them, then the header says complete.
    pwrite_all(own->fd(), path, blob.data(), info.state_bytes, info.state_offset);
    DRT_CHECK(::ftruncate(own->fd(), info.state_offset + info.state_bytes) == 0, "cannot truncate ", path, ": ",
              std::strerror(errno));
    ::fdatasync(own->fd());
    pwrite_all(own->fd(), path, header.data(), static_cast<int64_t>(header.size()), 0);
    ::fdatasync(own->fd());
    own->mark_finished();
    return;
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
  DRT_CHECK(out.fd >= 0, "cannot create memory file ", tmp, ": ", std::strerror(errno));
  try {
    pwrite_all(out.fd, tmp, header.data(), static_cast<int64_t>(header.size()), 0);
    // Blocks in batches of ~64 MiB.
    const int64_t bb = info.shape.block_bytes();
    const int64_t per = std::max<int64_t>(1, (int64_t{64} << 20) / std::max<int64_t>(bb, 1));
    std::vector<uint8_t> buf;
    for (int64_t first = 0; first < info.chunks; first += per) {
      const int64_t n = std::min(per, info.chunks - first);
      buf.resize(static_cast<size_t>(n * bb));
      store.read_raw(first, n, buf.data());
      pwrite_all(out.fd, tmp, buf.data(), n * bb, info.blocks_offset + first * bb);
    }
    pwrite_all(out.fd, tmp, blob.data(), info.state_bytes, info.state_offset);
    DRT_CHECK(::fdatasync(out.fd) == 0, "cannot sync ", tmp, ": ", std::strerror(errno));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(str_cat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
  }
}

MemoryFileInfo read_memory_file_info(const std::string& path) {
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  DRT_CHECK(in.fd >= 0, "cannot open memory file ", path, ": ", std::strerror(errno));
  return read_info(in.fd, path);
}

LoadedMemoryFile read_memory_file(const std::string& path) {
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  DRT_CHECK(in.fd >= 0, "cannot open memory file ", path, ": ", std::strerror(errno));
  LoadedMemoryFile out;
  out.info = read_info(in.fd, path);
  std::string blob(static_cast<size_t>(out.info.state_bytes), '\0');
  pread_all(in.fd, path, blob.data(), out.info.state_bytes, out.info.state_offset);
  const std::string h = hash_hex(hash_bytes(blob.data(), blob.size()));
  DRT_CHECK(h == out.info.state_hash, "memory file ", path, " is corrupt: its session state hashes to ", h,
            ", the header says ", out.info.state_hash);
  out.state = deserialize_state(blob, path);
  return out;
}

std::unique_ptr<ChunkStore> open_memory_file_blocks(const std::string& path, const MemoryFileInfo& info) {
  return std::make_unique<MappedChunkStore>(path, info.shape, info.blocks_offset, info.chunks);
}

}  // namespace drt
