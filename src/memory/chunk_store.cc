#include "memory/chunk_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "memory/memory_file.h"

namespace drt {

StorageDtype parse_storage_dtype(const std::string& name) {
  if (name == "fp32" || name == "f32" || name == "float32") return StorageDtype::kF32;
  if (name == "fp16" || name == "f16" || name == "float16") return StorageDtype::kF16;
  if (name == "bf16" || name == "bfloat16") return StorageDtype::kBF16;
  throw Error(str_cat("unknown memory storage dtype '", name, "' (expected fp32, fp16 or bf16)"));
}

const char* storage_dtype_name(StorageDtype dtype) {
  switch (dtype) {
    case StorageDtype::kF32: return "fp32";
    case StorageDtype::kF16: return "fp16";
    case StorageDtype::kBF16: return "bf16";
  }
  return "?";
}

int64_t storage_dtype_bytes(StorageDtype dtype) { return dtype == StorageDtype::kF32 ? 4 : 2; }

at::ScalarType storage_scalar_type(StorageDtype dtype) {
  switch (dtype) {
    case StorageDtype::kF32: return at::kFloat;
    case StorageDtype::kF16: return at::kHalf;
    case StorageDtype::kBF16: return at::kBFloat16;
  }
  return at::kFloat;
}

namespace {

// k, v [n, S, d] -> contiguous in the storage dtype, with the shapes checked.
std::pair<at::Tensor, at::Tensor> to_storage(const ChunkShape& shape, const at::Tensor& k, const at::Tensor& v) {
  DRT_CHECK(k.dim() == 3 && k.sizes() == v.sizes() && k.size(1) == shape.chunk_size && k.size(2) == shape.hidden,
            "chunk memory: append expects k, v [n, ", shape.chunk_size, ", ", shape.hidden, "], got ", k.sizes(),
            " and ", v.sizes());
  const auto st = storage_scalar_type(shape.dtype);
  return {k.detach().to(torch::kCPU, st).contiguous(), v.detach().to(torch::kCPU, st).contiguous()};
}

void check_range(const char* what, int64_t first, int64_t count, int64_t size) {
  DRT_CHECK(first >= 0 && count >= 0 && first + count <= size, "chunk memory: ", what, " of chunks [", first, ", ",
            first + count, ") outside the ", size, " stored");
}

}  // namespace

void ChunkStore::read(const std::vector<int64_t>& ids, at::Tensor& k, at::Tensor& v) const {
  const ChunkShape& s = shape();
  const int64_t n = static_cast<int64_t>(ids.size());
  const auto st = storage_scalar_type(s.dtype);
  auto ks = torch::empty({n, s.chunk_size, s.hidden}, torch::dtype(st));
  auto vs = torch::empty({n, s.chunk_size, s.hidden}, torch::dtype(st));
  const int64_t half = s.block_bytes() / 2;
  auto* kp = static_cast<uint8_t*>(ks.data_ptr());
  auto* vp = static_cast<uint8_t*>(vs.data_ptr());
  for (int64_t i = 0; i < n; ++i) {
    DRT_CHECK(ids[i] >= 0 && ids[i] < size(), "chunk memory: chunk ", ids[i], " requested, ", size(), " stored");
    copy_block(ids[i], kp + i * half, vp + i * half);
  }
  k = st == at::kFloat ? ks : ks.to(at::kFloat);
  v = st == at::kFloat ? vs : vs.to(at::kFloat);
}

// ---------------------------------------------------------------- RAM

RamChunkStore::RamChunkStore(const ChunkShape& shape) : shape_(shape) {}

void RamChunkStore::append(const at::Tensor& k, const at::Tensor& v) {
  auto [ks, vs] = to_storage(shape_, k, v);
  const int64_t half = shape_.block_bytes() / 2;
  const auto* kp = static_cast<const uint8_t*>(ks.data_ptr());
  const auto* vp = static_cast<const uint8_t*>(vs.data_ptr());
  for (int64_t i = 0; i < ks.size(0); ++i) {
    std::unique_ptr<uint8_t[]> block(new uint8_t[2 * half]);
    std::memcpy(block.get(), kp + i * half, half);
    std::memcpy(block.get() + half, vp + i * half, half);
    blocks_.push_back(std::move(block));
  }
}

void RamChunkStore::read_raw(int64_t first, int64_t count, void* out) const {
  check_range("read", first, count, size());
  const int64_t bb = shape_.block_bytes();
  for (int64_t i = 0; i < count; ++i) std::memcpy(static_cast<uint8_t*>(out) + i * bb, blocks_[first + i].get(), bb);
}

void RamChunkStore::copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const {
  const int64_t half = shape_.block_bytes() / 2;
  std::memcpy(k_out, blocks_[id].get(), half);
  std::memcpy(v_out, blocks_[id].get() + half, half);
}

// ---------------------------------------------------------------- file mapping

// Blocks at byte `offset` of an open file. Reads go through a shared read-only mapping
// whose reservation doubles when the file outgrows it (mapping past the end of the file
// is allowed; only written pages are touched). After each read the touched pages are
// dropped from this process (madvise DONTNEED): they stay in the page cache, but the
// resident set does not grow with the number of chunks ever retrieved.
class FileBlocks {
 public:
  FileBlocks(int fd, std::string path, int64_t offset, int64_t block_bytes, bool owns_fd)
      : fd_(fd), path_(std::move(path)), offset_(offset), block_bytes_(block_bytes), owns_fd_(owns_fd) {}
  ~FileBlocks() {
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  int64_t offset() const { return offset_; }

  void write(int64_t first, const uint8_t* data, int64_t count) {
    int64_t pos = offset_ + first * block_bytes_, left = count * block_bytes_;
    while (left > 0) {
      const ssize_t n = ::pwrite(fd_, data, static_cast<size_t>(left), pos);
      DRT_CHECK(n > 0 || errno == EINTR, "cannot write chunk memory to ", path_, ": ", std::strerror(errno));
      if (n <= 0) continue;
      data += n;
      pos += n;
      left -= n;
    }
  }

  // Copies `bytes` bytes at block `id` + `within` to out. pread, not a mapping: pages of
  // a mapping count as the process's resident memory, and the kernel's fault-around maps
  // neighbouring blocks too, so a mapped memory grew the RSS by ~half a block per chunk
  // read. pread copies from the page cache, which the kernel reclaims as it needs.
  void copy(int64_t id, int64_t within, int64_t bytes, uint8_t* out) const {
    int64_t pos = offset_ + id * block_bytes_ + within, left = bytes;
    while (left > 0) {
      const ssize_t n = ::pread(fd_, out, static_cast<size_t>(left), pos);
      DRT_CHECK(n > 0 || (n < 0 && errno == EINTR), "cannot read chunk memory from ", path_, " at byte ", pos, ": ",
                n == 0 ? "unexpected end of file" : std::strerror(errno));
      if (n <= 0) continue;
      out += n;
      pos += n;
      left -= n;
    }
  }

 private:
  int fd_;
  std::string path_;
  int64_t offset_, block_bytes_;
  bool owns_fd_;
};

// ---------------------------------------------------------------- file

std::unique_ptr<FileChunkStore> FileChunkStore::create(const std::string& path, const ChunkShape& shape) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  DRT_CHECK(fd >= 0, "cannot create chunk memory file ", path, ": ", std::strerror(errno));
  try {
    write_incomplete_memory_header(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  auto blocks = std::make_unique<FileBlocks>(fd, path, kMemoryFileHeaderBytes, shape.block_bytes(), true);
  return std::unique_ptr<FileChunkStore>(new FileChunkStore(path, shape, std::move(blocks)));
}

FileChunkStore::FileChunkStore(std::string path, const ChunkShape& shape, std::unique_ptr<FileBlocks> blocks)
    : path_(std::move(path)), shape_(shape), blocks_(std::move(blocks)) {}

FileChunkStore::~FileChunkStore() = default;

int FileChunkStore::fd() const { return blocks_->fd(); }
int64_t FileChunkStore::blocks_offset() const { return blocks_->offset(); }

void FileChunkStore::append(const at::Tensor& k, const at::Tensor& v) {
  auto [ks, vs] = to_storage(shape_, k, v);
  if (finished_) {  // the saved state behind the blocks is about to be overwritten
    write_incomplete_memory_header(fd(), path_);
    finished_ = false;
  }
  const int64_t n = ks.size(0), half = shape_.block_bytes() / 2;
  // Interleave K and V per chunk into one buffer, then one pwrite.
  std::vector<uint8_t> buf(static_cast<size_t>(n * 2 * half));
  const auto* kp = static_cast<const uint8_t*>(ks.data_ptr());
  const auto* vp = static_cast<const uint8_t*>(vs.data_ptr());
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(buf.data() + 2 * i * half, kp + i * half, half);
    std::memcpy(buf.data() + (2 * i + 1) * half, vp + i * half, half);
  }
  blocks_->write(size_, buf.data(), n);
  size_ += n;
}

void FileChunkStore::read_raw(int64_t first, int64_t count, void* out) const {
  check_range("read", first, count, size_);
  const int64_t bb = shape_.block_bytes();
  for (int64_t i = 0; i < count; ++i) blocks_->copy(first + i, 0, bb, static_cast<uint8_t*>(out) + i * bb);
}

void FileChunkStore::copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const {
  const int64_t half = shape_.block_bytes() / 2;
  blocks_->copy(id, 0, half, k_out);
  blocks_->copy(id, half, half, v_out);
}

// ---------------------------------------------------------------- mapped (read-only)

MappedChunkStore::MappedChunkStore(const std::string& path, const ChunkShape& shape, int64_t blocks_offset,
                                   int64_t count)
    : path_(path), shape_(shape), count_(count) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  DRT_CHECK(fd >= 0, "cannot open memory file ", path, ": ", std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  const int64_t need = blocks_offset + count * shape.block_bytes();
  if (st.st_size < need) {
    ::close(fd);
    throw Error(str_cat("memory file ", path, " is truncated: ", st.st_size, " bytes, its ", count,
                        " chunk blocks need ", need));
  }
  blocks_ = std::make_unique<FileBlocks>(fd, path, blocks_offset, shape.block_bytes(), true);
}

MappedChunkStore::~MappedChunkStore() = default;

void MappedChunkStore::append(const at::Tensor&, const at::Tensor&) {
  throw Error(str_cat("chunk memory ", path_, " is read-only"));
}

void MappedChunkStore::read_raw(int64_t first, int64_t count, void* out) const {
  check_range("read", first, count, count_);
  const int64_t bb = shape_.block_bytes();
  for (int64_t i = 0; i < count; ++i) blocks_->copy(first + i, 0, bb, static_cast<uint8_t*>(out) + i * bb);
}

void MappedChunkStore::copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const {
  const int64_t half = shape_.block_bytes() / 2;
  blocks_->copy(id, 0, half, k_out);
  blocks_->copy(id, half, half, v_out);
}

// ---------------------------------------------------------------- layered

LayeredChunkStore::LayeredChunkStore(std::unique_ptr<ChunkStore> base, std::unique_ptr<ChunkStore> tail)
    : base_(std::move(base)), tail_(std::move(tail)) {
  const ChunkShape &a = base_->shape(), &b = tail_->shape();
  DRT_CHECK(a.chunk_size == b.chunk_size && a.hidden == b.hidden && a.dtype == b.dtype,
            "chunk memory: the new chunks' storage (S=", b.chunk_size, ", d=", b.hidden, ", ",
            storage_dtype_name(b.dtype), ") differs from the loaded memory's (S=", a.chunk_size, ", d=", a.hidden,
            ", ", storage_dtype_name(a.dtype), ")");
  DRT_CHECK(tail_->size() == 0, "chunk memory: the tail of a loaded memory must start empty");
}

void LayeredChunkStore::read_raw(int64_t first, int64_t count, void* out) const {
  check_range("read", first, count, size());
  const int64_t nb = base_->size(), bb = shape().block_bytes();
  auto* o = static_cast<uint8_t*>(out);
  const int64_t from_base = std::max<int64_t>(0, std::min(first + count, nb) - first);
  if (from_base > 0) base_->read_raw(first, from_base, o);
  if (count > from_base) tail_->read_raw(first + from_base - nb, count - from_base, o + from_base * bb);
}

void LayeredChunkStore::copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const {
  const int64_t nb = base_->size();
  if (id < nb) base_->copy_block(id, k_out, v_out);
  else tail_->copy_block(id - nb, k_out, v_out);
}

// ---------------------------------------------------------------- patched

PatchedChunkStore::PatchedChunkStore(const ChunkStore& base, int64_t count, std::unique_ptr<ChunkStore> tail)
    : base_(base), count_(count), tail_(std::move(tail)) {
  DRT_CHECK(count >= 0 && count <= base.size(), "chunk memory: a patched view of ", count, " chunks over a base of ",
            base.size());
  const ChunkShape &a = base_.shape(), &b = tail_->shape();
  DRT_CHECK(a.chunk_size == b.chunk_size && a.hidden == b.hidden && a.dtype == b.dtype,
            "chunk memory: the tail's storage differs from the base's");
  DRT_CHECK(tail_->size() == 0, "chunk memory: the tail of a patched memory must start empty");
}

void PatchedChunkStore::patch(int64_t id, const ChunkStore& from, int64_t from_id) {
  DRT_CHECK(id >= 0 && id < count_, "chunk memory: patch of chunk ", id, " outside the base view [0, ", count_, ")");
  DRT_CHECK(from.shape().block_bytes() == shape().block_bytes() && from.shape().dtype == shape().dtype,
            "chunk memory: a patch must have the base's storage");
  std::vector<uint8_t>& block = patches_[id];
  block.resize(static_cast<size_t>(shape().block_bytes()));
  from.read_raw(from_id, 1, block.data());
}

void PatchedChunkStore::read_raw(int64_t first, int64_t count, void* out) const {
  check_range("read", first, count, size());
  const int64_t bb = shape().block_bytes();
  auto* o = static_cast<uint8_t*>(out);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t id = first + i;
    if (id >= count_) {
      tail_->read_raw(id - count_, count - i, o + i * bb);  // the rest is in the tail
      return;
    }
    auto it = patches_.find(id);
    if (it != patches_.end()) std::memcpy(o + i * bb, it->second.data(), static_cast<size_t>(bb));
    else base_.read_raw(id, 1, o + i * bb);
  }
}

void PatchedChunkStore::copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const {
  if (id >= count_) return tail_->copy_block(id - count_, k_out, v_out);
  auto it = patches_.find(id);
  if (it == patches_.end()) return base_.copy_block(id, k_out, v_out);
  const int64_t half = shape().block_bytes() / 2;
  std::memcpy(k_out, it->second.data(), static_cast<size_t>(half));
  std::memcpy(v_out, it->second.data() + half, static_cast<size_t>(half));
}

// ---------------------------------------------------------------- spec

MemorySpec MemorySpec::parse(const std::string& text, const std::string& dtype) {
  MemorySpec spec;
  spec.dtype = parse_storage_dtype(dtype);
  if (text == "ram") return spec;
  if (text.rfind("disk:", 0) == 0 && text.size() > 5) {
    spec.disk = true;
    spec.path = text.substr(5);
    return spec;
  }
  throw Error(str_cat("--memory must be 'ram' or 'disk:PATH', got '", text, "'"));
}

std::unique_ptr<ChunkStore> make_chunk_store(const MemorySpec& spec, int64_t chunk_size, int64_t hidden) {
  ChunkShape shape{chunk_size, hidden, spec.dtype};
  if (spec.disk) return FileChunkStore::create(spec.path, shape);
  return std::make_unique<RamChunkStore>(shape);
}

}  // namespace drt
