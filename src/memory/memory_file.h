// Memory files: a streaming session saved to disk — its chunk memory plus everything
// needed to continue exactly where reading stopped (window caches, the partial chunk's
// pending lower-stack states, current retrievals, counters). Layout (little-endian):
//
//   [0, 4096)         header: magic "DRTMEMF\0", u32 format version, u32 JSON length,
//                     JSON (below), zero padding
//   [4096, ...)       chunk blocks: `chunks` x block_bytes (K [S, d] then V [S, d], in
//                     the storage dtype) — the FileChunkStore layout, so a disk-backed
//                     session saves to its own file in place, without a copy
//   [state_offset, +state_bytes)
//                     named tensors: u64 JSON length, JSON {name: {dtype, shape, offset,
//                     bytes}}, raw data (offsets relative to the data start)
//
// Header JSON: {"complete": true, "model_hash", "config", "storage_dtype", "chunk_size",
// "hidden", "block_bytes", "chunks", "text_tokens", "positions", "blocks_offset",
// "state_offset", "state_bytes", "state_hash"}. A file still being written by a
// FileChunkStore has {"complete": false}. Loading checks magic, version, completeness,
// sizes (a truncated file) and the state hash (a corrupt state), each with an error that
// names the file and the problem; the caller checks the model hash.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "memory/chunk_store.h"

namespace drt {

constexpr uint32_t kMemoryFileVersion = 1;
constexpr int64_t kMemoryFileHeaderBytes = 4096;
constexpr char kMemoryFileMagic[8] = {'D', 'R', 'T', 'M', 'E', 'M', 'F', '\0'};

struct MemoryFileInfo {
  uint32_t version = kMemoryFileVersion;
  std::string model_hash;
  nlohmann::json config;  // the model's config.json
  ChunkShape shape;
  int64_t chunks = 0;
  int64_t text_tokens = 0;
  int64_t positions = 0;  // text tokens + landmarks
  int64_t blocks_offset = kMemoryFileHeaderBytes;
  int64_t state_offset = 0;
  int64_t state_bytes = 0;
  std::string state_hash;
};

// Writes the provisional header of a file that a FileChunkStore is filling.
void write_incomplete_memory_header(int fd, const std::string& path);

// Writes `path`: header, every block of `store`, then `state`. When `store` is a
// FileChunkStore on `path` itself the blocks are already in place and only the state and
// the header are written; otherwise the file is written to a temporary name and renamed.
// info.chunks/shape/offsets/state fields are filled in here.
void write_memory_file(const std::string& path, MemoryFileInfo info, ChunkStore& store,
                       const std::map<std::string, at::Tensor>& state);

struct LoadedMemoryFile {
  MemoryFileInfo info;
  std::map<std::string, at::Tensor> state;
};

// Reads and checks the header and the state (not the blocks: map them with
// open_memory_file_blocks).
LoadedMemoryFile read_memory_file(const std::string& path);
// Reads only the header (checked as above, except the state hash).
MemoryFileInfo read_memory_file_info(const std::string& path);

// The blocks of a checked memory file, read-only.
std::unique_ptr<ChunkStore> open_memory_file_blocks(const std::string& path, const MemoryFileInfo& info);

// A 64-bit content hash (hex) of a byte range, fast enough for gigabytes of weights;
// `seed` chains calls.
uint64_t hash_bytes(const void* data, size_t size, uint64_t seed = 0x9E3779B97F4A7C15ULL);
std::string hash_hex(uint64_t h);

}  // namespace drt
