// Chunk memory storage for streaming inference (DESIGN §3): the K/V block of every chunk
// a session has read, written once when the chunk is encoded and read back (K blocks per
// retrieval) by GCA. One interface, three backends:
//
//   RamChunkStore     blocks in process memory
//   FileChunkStore    blocks appended (pwrite) to a file and read back with pread,
//                     so resident memory stays flat however long the context; the file is
//                     laid out as a memory file (memory_file.h) whose state is not written
//                     yet, so `save` can finish it in place
//   LayeredChunkStore a read-only base (the blocks of a loaded memory file) with a
//                     RAM or file tail that receives new chunks; the base file is never
//                     modified, so one saved memory can be loaded many times
//
// A block is chunk c's keys then values, each [S, d] row-major, in the storage dtype
// (fp32, fp16 or bf16); the session only ever sees float32.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace drt {

enum class StorageDtype { kF32, kF16, kBF16 };

// "fp32"/"f32"/"float32", "fp16"/"f16"/"float16", "bf16"/"bfloat16"; throws otherwise.
StorageDtype parse_storage_dtype(const std::string& name);
const char* storage_dtype_name(StorageDtype dtype);  // "fp32", "fp16", "bf16"
int64_t storage_dtype_bytes(StorageDtype dtype);
at::ScalarType storage_scalar_type(StorageDtype dtype);

// The geometry of one chunk block.
struct ChunkShape {
  int64_t chunk_size = 0;  // S positions with K/V (the landmark slot has none)
  int64_t hidden = 0;      // d = H * D
  StorageDtype dtype = StorageDtype::kF32;
  // K then V: 2 * S * d elements.
  int64_t block_bytes() const { return 2 * chunk_size * hidden * storage_dtype_bytes(dtype); }
};

class ChunkStore {
 public:
  virtual ~ChunkStore() = default;
  ChunkStore() = default;
  ChunkStore(const ChunkStore&) = delete;
  ChunkStore& operator=(const ChunkStore&) = delete;

  virtual const ChunkShape& shape() const = 0;
  virtual int64_t size() const = 0;  // N chunks stored
  // Appends n chunks. k, v: [n, S, d] (any float dtype; stored in the storage dtype).
  virtual void append(const at::Tensor& k, const at::Tensor& v) = 0;
  // Copies `count` raw blocks starting at chunk `first` into out (count * block_bytes()).
  virtual void read_raw(int64_t first, int64_t count, void* out) const = 0;
  // "ram", "disk:/path", "file:/path (read-only) + ram"
  virtual std::string describe() const = 0;

  // Copies chunk `id`'s K and V (storage dtype, S * d elements each) to k_out, v_out.
  virtual void copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const = 0;

  // The K/V blocks of `ids` (each in 0..size()-1), as float32: k, v [ids.size(), S, d].
  void read(const std::vector<int64_t>& ids, at::Tensor& k, at::Tensor& v) const;
};

class RamChunkStore : public ChunkStore {
 public:
  explicit RamChunkStore(const ChunkShape& shape);
  const ChunkShape& shape() const override { return shape_; }
  int64_t size() const override { return static_cast<int64_t>(blocks_.size()); }
  void append(const at::Tensor& k, const at::Tensor& v) override;
  void read_raw(int64_t first, int64_t count, void* out) const override;
  std::string describe() const override { return "ram"; }
  void copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const override;

 private:
  ChunkShape shape_;
  std::vector<std::unique_ptr<uint8_t[]>> blocks_;  // one block_bytes() buffer per chunk
};

// A read-write or read-only view of blocks stored in a file at a fixed byte offset,
// written with pwrite and read with pread (the page cache, not the process, holds them).
class FileBlocks;

class FileChunkStore : public ChunkStore {
 public:
  // Creates (truncates) PATH: a memory-file header marked incomplete, then the blocks.
  static std::unique_ptr<FileChunkStore> create(const std::string& path, const ChunkShape& shape);
  ~FileChunkStore() override;
  const ChunkShape& shape() const override { return shape_; }
  int64_t size() const override { return size_; }
  void append(const at::Tensor& k, const at::Tensor& v) override;
  void read_raw(int64_t first, int64_t count, void* out) const override;
  std::string describe() const override { return "disk:" + path_; }

  const std::string& path() const { return path_; }
  int fd() const;
  int64_t blocks_offset() const;
  // Called by memory-file writing: after a session state has been written behind the
  // blocks, the next append must first mark the file incomplete again.
  void mark_finished() { finished_ = true; }
  void copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const override;

 private:
  FileChunkStore(std::string path, const ChunkShape& shape, std::unique_ptr<FileBlocks> blocks);
  std::string path_;
  ChunkShape shape_;
  std::unique_ptr<FileBlocks> blocks_;
  int64_t size_ = 0;
  bool finished_ = false;
};

// The blocks of a saved memory file, read-only (pread); append throws.
class MappedChunkStore : public ChunkStore {
 public:
  MappedChunkStore(const std::string& path, const ChunkShape& shape, int64_t blocks_offset, int64_t count);
  ~MappedChunkStore() override;
  const ChunkShape& shape() const override { return shape_; }
  int64_t size() const override { return count_; }
  void append(const at::Tensor& k, const at::Tensor& v) override;
  void read_raw(int64_t first, int64_t count, void* out) const override;
  std::string describe() const override { return "file:" + path_ + " (read-only)"; }
  const std::string& path() const { return path_; }
  void copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const override;

 private:
  std::string path_;
  ChunkShape shape_;
  std::unique_ptr<FileBlocks> blocks_;
  int64_t count_;
};

// Chunks 0..base.size()-1 from `base`, later chunks from `tail` (which receives appends).
class LayeredChunkStore : public ChunkStore {
 public:
  LayeredChunkStore(std::unique_ptr<ChunkStore> base, std::unique_ptr<ChunkStore> tail);
  const ChunkShape& shape() const override { return base_->shape(); }
  int64_t size() const override { return base_->size() + tail_->size(); }
  void append(const at::Tensor& k, const at::Tensor& v) override { tail_->append(k, v); }
  void read_raw(int64_t first, int64_t count, void* out) const override;
  std::string describe() const override { return base_->describe() + " + " + tail_->describe(); }
  const ChunkStore& base() const { return *base_; }
  const ChunkStore& tail() const { return *tail_; }
  void copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const override;

 private:
  std::unique_ptr<ChunkStore> base_, tail_;
};

// Chunks 0..count-1 of a shared `base` (not owned; it must outlive this store and not
// change), except those replaced by patches, then chunks from `tail` (which receives
// appends). A spliced passkey evaluation (eval/passkey.h) builds one per trial: the
// haystack's chunk memory, encoded once, with the few chunks that the needle changed.
class PatchedChunkStore : public ChunkStore {
 public:
  PatchedChunkStore(const ChunkStore& base, int64_t count, std::unique_ptr<ChunkStore> tail);
  const ChunkShape& shape() const override { return base_.shape(); }
  int64_t size() const override { return count_ + tail_->size(); }
  void append(const at::Tensor& k, const at::Tensor& v) override { tail_->append(k, v); }
  void read_raw(int64_t first, int64_t count, void* out) const override;
  std::string describe() const override { return "patched " + base_.describe() + " + " + tail_->describe(); }
  void copy_block(int64_t id, uint8_t* k_out, uint8_t* v_out) const override;
  // Chunk `id` (< count) reads as block `from_id` of `from` (copied now; same storage).
  void patch(int64_t id, const ChunkStore& from, int64_t from_id);

 private:
  const ChunkStore& base_;
  int64_t count_;
  std::unique_ptr<ChunkStore> tail_;
  std::map<int64_t, std::vector<uint8_t>> patches_;  // chunk id -> raw block
};

// What `--memory ram|disk:PATH` and `--memory-dtype` ask for.
struct MemorySpec {
  bool disk = false;
  std::string path;  // with disk
  StorageDtype dtype = StorageDtype::kF32;
  // "ram" or "disk:PATH"; throws naming the value otherwise.
  static MemorySpec parse(const std::string& text, const std::string& dtype = "fp32");
  std::string describe() const { return disk ? "disk:" + path : "ram"; }
};

std::unique_ptr<ChunkStore> make_chunk_store(const MemorySpec& spec, int64_t chunk_size, int64_t hidden);

}  // namespace drt
