#include "engine/session.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/error.h"
#include "kernels/ops.h"
#include "memory/memory_file.h"

namespace drt {

std::string model_fingerprint(DrtLM& model) {
  const std::string config = model->config.to_json().dump();
  uint64_t h = hash_bytes(config.data(), config.size());
  for (const auto& item : model->named_parameters()) {
    const std::string& name = item.key();
    h = hash_bytes(name.data(), name.size(), h);
    auto p = item.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const auto sizes = p.sizes().vec();
    h = hash_bytes(sizes.data(), sizes.size() * sizeof(int64_t), h);
    h = hash_bytes(p.data_ptr(), static_cast<size_t>(p.numel()) * sizeof(float), h);
  }
  return hash_hex(h);
}

Session::Session(DrtLM model, std::unique_ptr<ChunkStore> memory, SessionOptions options)
    : model_(std::move(model)), memory_(std::move(memory)), options_(options) {
  const ModelConfig& c = model_->config;
  DRT_CHECK(memory_ != nullptr, "session: no chunk memory given");
  DRT_CHECK(memory_->shape().chunk_size == c.enc_chunk_size && memory_->shape().hidden == c.hidden_size,
            "session: chunk memory holds blocks of S=", memory_->shape().chunk_size, ", d=", memory_->shape().hidden,
            "; the model has S=", c.enc_chunk_size, ", d=", c.hidden_size);
  DRT_CHECK(memory_->size() == 0, "session: a new session needs an empty chunk memory, it holds ", memory_->size(),
            " chunks");
  DRT_CHECK(options_.prefill_tokens > 0, "session: prefill_tokens must be positive");
  model_->eval();
  for (int64_t i = 0; i < c.num_lower_layers(); ++i) lower_cache_.emplace_back(c.effective_window());
  for (int64_t g = 0; g < c.num_groups(); ++g)
    upper_cache_.emplace_back(static_cast<size_t>(c.decoder_layers[g + 1]), WindowCache(c.effective_window()));
  served_.resize(static_cast<size_t>(c.num_groups()));
  block_cache_.resize(static_cast<size_t>(c.num_groups()));
  pending_ = torch::empty({0, c.hidden_size}, torch::kFloat32);
}

Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

const std::string& Session::model_hash() {
  if (model_hash_.empty()) model_hash_ = model_fingerprint(model_);
  return model_hash_;
}

at::Tensor Session::landmarks() const {
  if (num_chunks_ == 0) return torch::empty({0, model_->config.hidden_size}, torch::kFloat32);
  std::vector<at::Tensor> rows;
  for (int64_t first = 0; first < num_chunks_; first += kLandmarkPage)
    rows.push_back(landmark_pages_[first / kLandmarkPage].narrow(0, 0, std::min(kLandmarkPage, num_chunks_ - first)));
  return torch::cat(rows, 0);
}

std::vector<int64_t> Session::chunk_tokens(int64_t chunk) const {
  const int64_t S = model_->config.enc_chunk_size;
  DRT_CHECK(chunk >= 0 && (chunk + 1) * S <= static_cast<int64_t>(tokens_.size()), "session: chunk ", chunk,
            " has not been read");
  return std::vector<int64_t>(tokens_.begin() + chunk * S, tokens_.begin() + (chunk + 1) * S);
}

void Session::append_landmarks(const at::Tensor& keys) {
  const int64_t n = keys.size(0);
  for (int64_t done = 0; done < n;) {
    const int64_t row = num_chunks_ % kLandmarkPage;
    if (row == 0 && num_chunks_ / kLandmarkPage == static_cast<int64_t>(landmark_pages_.size()))
      landmark_pages_.push_back(torch::empty({kLandmarkPage, keys.size(1)}, torch::kFloat32));
    const int64_t take = std::min(n - done, kLandmarkPage - row);
    landmark_pages_[num_chunks_ / kLandmarkPage].narrow(0, row, take).copy_(keys.narrow(0, done, take));
    num_chunks_ += take;
    done += take;
  }
}

at::Tensor Session::attend(WindowAttentionImpl& attn, RMSNormImpl& norm, WindowCache& cache, const at::Tensor& x,
                           int64_t first_position) {
  auto [q, k, v] = attn.project(norm.forward(x), first_position);  // each [1, T, H, D]
  auto [keys, values, offset] = cache.extend(k, v);
  return x + attn.output(window_attention(q, keys, values, attn.m, attn.window, offset));
}

void Session::write_chunks(const at::Tensor& lower) {
  const ModelConfig& c = model_->config;
  const int64_t L = c.block_size(), S = c.enc_chunk_size, d = c.hidden_size;
  auto all = pending_.size(0) > 0 ? torch::cat({pending_, lower}, 0) : lower;  // starts at a chunk boundary
  const int64_t complete = all.size(0) / L;
  if (complete > 0) {
    // The model's own encoder path (DrtModel::encode_chunks) over every completed chunk.
    ChunkMemory m = model_->model->encode_chunks(all.narrow(0, 0, complete * L).unsqueeze(0));
    append_landmarks(m.landmarks.squeeze(0));
    memory_->append(m.k.squeeze(0).reshape({complete, S, d}), m.v.squeeze(0).reshape({complete, S, d}));
  }
  pending_ = all.narrow(0, complete * L, all.size(0) - complete * L).clone();
}

std::vector<Session::Chosen> Session::retrieve_group(int64_t g, const at::Tensor& x, const std::vector<int64_t>& rows,
                                                     const std::vector<int64_t>& owners) {
  const ModelConfig& c = model_->config;
  std::vector<Chosen> made(rows.size());
  if (rows.empty()) return made;
  const int64_t candidates = owners.back();  // chunk c chooses among 0..c-1
  if (candidates > 0) {
    // q_c = RMSNorm_g(h_c[S]); s(c, j) = <q_c, l_j> / sqrt(d) for j < c (DESIGN §2.5).
    auto at_landmarks = x.squeeze(0).index_select(0, torch::tensor(rows, torch::kLong));  // [n, d]
    auto queries = model_->model->lmk_norms[g]->as<RMSNorm>()->forward(at_landmarks);
    std::vector<at::Tensor> parts;  // one [n, page rows] block of scores per landmark page
    for (int64_t first = 0; first < candidates; first += kLandmarkPage)
      parts.push_back(torch::matmul(queries, landmark_pages_[first / kLandmarkPage]
                                                 .narrow(0, 0, std::min(kLandmarkPage, candidates - first))
                                                 .t()));
    auto scores = (parts.size() == 1 ? parts[0] : torch::cat(parts, 1)) /
                  std::sqrt(static_cast<double>(c.hidden_size));  // [n, candidates]
    auto owner = torch::tensor(owners, torch::kLong).unsqueeze(1);
    auto past = torch::arange(candidates, torch::kLong).unsqueeze(0) < owner;
    scores = scores.masked_fill(past.logical_not(), -std::numeric_limits<float>::infinity());
    const int64_t k = std::min(c.chunk_topk, candidates);
    auto [top, chosen] = scores.topk(k, /*dim=*/1);  // [n, k]
    auto valid = top.isfinite();
    // Softmax over the valid chosen scores, as retrieve() in the batch forward.
    auto filled = torch::where(valid, top, torch::full_like(top, -1e30));
    auto weights = (torch::softmax(filled, -1) * valid.to(torch::kFloat32)).contiguous();
    auto chosen_c = chosen.contiguous();
    auto valid_c = valid.contiguous();
    const auto* w = weights.data_ptr<float>();
    const auto* ids = chosen_c.data_ptr<int64_t>();
    const auto* ok = valid_c.data_ptr<bool>();
    for (size_t r = 0; r < rows.size(); ++r)
      for (int64_t i = 0; i < k; ++i)
        if (ok[r * k + i]) {
          made[r].chunks.push_back(ids[r * k + i]);
          made[r].weights.push_back(w[r * k + i]);
        }
  }
  if (on_retrieval_)
    for (size_t r = 0; r < rows.size(); ++r) on_retrieval_({g, owners[r], made[r].chunks, made[r].weights});
  return made;
}

at::Tensor Session::step(const int64_t* tokens, int64_t n, bool all_logits) {
  const ModelConfig& c = model_->config;
  const int64_t S = c.enc_chunk_size, L = c.block_size(), d = c.hidden_size;
  const int64_t H = c.num_attention_heads, D = c.head_dim();

  // Positions of this step: the text tokens with a landmark after every S-th.
  std::vector<int64_t> ids, text_rows;
  ids.reserve(static_cast<size_t>(n + n / S + 1));
  int64_t t = text_tokens_;
  for (int64_t i = 0; i < n; ++i) {
    DRT_CHECK(tokens[i] >= 0 && tokens[i] < c.vocab_size, "session: token id ", tokens[i],
              " is outside the vocabulary [0, ", c.vocab_size, ")");
    DRT_CHECK(tokens[i] != c.chunk_id, "session: token ", i, " is the landmark id ", c.chunk_id,
              "; landmarks are inserted by the session");
    text_rows.push_back(static_cast<int64_t>(ids.size()));
    ids.push_back(tokens[i]);
    if (++t % S == 0) ids.push_back(c.chunk_id);
  }
  const int64_t P = static_cast<int64_t>(ids.size()), p0 = positions_;

  auto x = model_->model->embed_tokens(torch::tensor(ids, torch::kLong).unsqueeze(0));  // [1, P, d]
  for (size_t i = 0; i < lower_cache_.size(); ++i) {
    auto& layer = *model_->model->lower_layers[i]->as<DecoderLayer>();
    auto h = attend(*layer.self_attn, *layer.input_layernorm, lower_cache_[i], x, p0);
    x = h + layer.mlp(layer.post_attention_layernorm(h));
  }

  if (c.retrieval) {
    write_chunks(x.squeeze(0));
    std::vector<int64_t> lmk_rows, lmk_owners;  // landmark rows of this step, and their chunks
    for (int64_t r = 0; r < P; ++r)
      if ((p0 + r) % L == S) {
        lmk_rows.push_back(r);
        lmk_owners.push_back((p0 + r) / L);
      }
    const int64_t c_first = p0 / L, c_last = (p0 + P - 1) / L, blocks = c_last - c_first + 1;
    // The step's positions as GCA query blocks, one per chunk touched: [1, blocks, len, d]
    // with the partial first/last chunk padded (a single chunk needs no padding).
    const int64_t lead = blocks == 1 ? 0 : p0 % L;
    const int64_t len = blocks == 1 ? P : L;
    const int64_t K = c.chunk_topk;
    for (int64_t g = 0; g < c.num_groups(); ++g) {
      std::vector<Chosen> made = retrieve_group(g, x, lmk_rows, lmk_owners);
      // Block b (chunk c_first + b) is served by the retrieval of chunk c_first + b - 1.
      std::vector<const Chosen*> served(static_cast<size_t>(blocks));
      served[0] = &served_[g];
      for (int64_t b = 1; b < blocks; ++b) served[b] = &made[b - 1];
      // Read each distinct retrieved chunk once: [1, U, S, H, D].
      std::unordered_map<int64_t, int64_t> slot;
      std::vector<int64_t> unique;
      auto indices = torch::zeros({1, blocks, K}, torch::kLong);
      auto weights = torch::zeros({1, blocks, K}, torch::kFloat32);
      auto* ip = indices.data_ptr<int64_t>();
      auto* wp = weights.data_ptr<float>();
      for (int64_t b = 0; b < blocks; ++b) {
        if (gca_serves_ && !gca_serves_(c_first + b)) continue;  // ablated: weights stay 0
        for (size_t i = 0; i < served[b]->chunks.size(); ++i) {
          const int64_t chunk = served[b]->chunks[i];
          auto it = slot.emplace(chunk, static_cast<int64_t>(unique.size())).first;
          if (it->second == static_cast<int64_t>(unique.size())) unique.push_back(chunk);
          ip[b * K + static_cast<int64_t>(i)] = it->second;
          wp[b * K + static_cast<int64_t>(i)] = served[b]->weights[i];
        }
      }
      // Decoding reads the same blocks for every token of a chunk: keep the last set.
      BlockCache& blocks_read = block_cache_[g];
      if (!unique.empty() && unique != blocks_read.chunks) {
        at::Tensor k, v;
        memory_->read(unique, k, v);  // [U, S, d]
        const int64_t U = static_cast<int64_t>(unique.size());
        blocks_read = {unique, k.view({1, U, S, H, D}), v.view({1, U, S, H, D})};
      }
      const at::Tensor& mem_k = blocks_read.k;
      const at::Tensor& mem_v = blocks_read.v;
      auto& group = *model_->model->upper_groups[g];
      for (size_t i = 0; i < group.size(); ++i) {
        auto& layer = *group[i]->as<UpperLayer>();
        auto h = attend(*layer.self_attn, *layer.input_layernorm, upper_cache_[g][i], x, p0);
        // GCA feeds the MLP, not the residual stream (DESIGN §2.6), unless the config's
        // gca_residual adds it there too. With no chunk retrieved anywhere in the step it
        // is exactly 0, as in the batch forward.
        auto mlp_in = h;
        torch::Tensor gca_out;
        if (!unique.empty()) {
          auto q_blocks = h;
          if (blocks > 1 && !(lead == 0 && P == blocks * L)) {
            q_blocks = torch::zeros({1, blocks * L, d}, h.options());
            q_blocks.narrow(1, lead, P).copy_(h);
          }
          gca_out = layer.gca->forward(q_blocks.view({1, blocks, len, d}), mem_k, mem_v, indices, weights)
                             .view({1, blocks * len, d})
                             .narrow(1, lead, P);
          mlp_in = h + gca_out;
        }
        x = h + layer.mlp(layer.post_attention_layernorm(mlp_in));
        if (layer.gca_residual && gca_out.defined()) x = x + gca_out;
      }
      if (!made.empty()) served_[g] = made.back();
      // The block cache pays off only for decode steps inside one chunk (they all read the
      // same blocks). After a multi-chunk step it would hold up to blocks x K blocks (tens
      // of MB at long contexts, where every chunk retrieves different ones) until the next
      // read: drop it, so resident memory does not grow with the context.
      if (blocks > 1) blocks_read = BlockCache{};
    }
  }

  positions_ += P;
  text_tokens_ = t;
  // Landmark positions carry no prediction: only the text rows reach the head.
  auto rows = all_logits ? torch::tensor(text_rows, torch::kLong) : torch::tensor({text_rows.back()}, torch::kLong);
  auto logits = model_->head(model_->model->norm(x.squeeze(0).index_select(0, rows)));  // [rows, V]
  last_logits_ = logits[logits.size(0) - 1].clone();
  return logits;
}

at::Tensor Session::read(const std::vector<int64_t>& tokens, Logits which) {
  return read(tokens.data(), static_cast<int64_t>(tokens.size()), which);
}

at::Tensor Session::read(const int64_t* tokens, int64_t n, Logits which) {
  torch::NoGradGuard no_grad;
  const int64_t S = model_->config.enc_chunk_size;
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < n;) {
    int64_t take = std::min(options_.prefill_tokens, n - i);
    // End inner batches at chunk boundaries, so GCA's query blocks need no padding.
    if (i + take < n) {
      const int64_t aligned = take - (text_tokens_ + take) % S;
      if (aligned > 0) take = aligned;
    }
    // The tokens are recorded first so that retrieval callbacks can show their text.
    const size_t recorded = tokens_.size();
    tokens_.insert(tokens_.end(), tokens + i, tokens + i + take);
    at::Tensor logits;
    try {
      logits = step(tokens + i, take, which == Logits::kAll);
    } catch (...) {
      tokens_.resize(recorded);
      throw;
    }
    if (which == Logits::kAll) parts.push_back(logits);
    i += take;
  }
  switch (which) {
    case Logits::kNone: return {};
    case Logits::kLast: return n > 0 ? last_logits_ : at::Tensor();
    case Logits::kAll:
      return parts.empty() ? torch::empty({0, model_->config.vocab_size}) : torch::cat(parts, 0);
  }
  return {};
}

// ---------------------------------------------------------------- spliced starts

namespace {
at::Tensor cache_tensor(const at::Tensor& t, const ModelConfig& c) {
  if (t.defined()) return t;
  return torch::empty({1, 0, c.num_attention_heads, c.head_dim()}, torch::kFloat32);
}
}  // namespace


std::vector<std::pair<at::Tensor, at::Tensor>> Session::lower_window() const {
  std::vector<std::pair<at::Tensor, at::Tensor>> out;
  for (const auto& cache : lower_cache_)
    out.emplace_back(cache_tensor(cache.keys(), model_->config), cache_tensor(cache.values(), model_->config));
  return out;
}

Session Session::start_from(DrtLM model, SessionStart start, SessionOptions options) {
  const ModelConfig& c = model->config;
  const int64_t S = c.enc_chunk_size, chunks = start.text_tokens / S;
  DRT_CHECK(start.text_tokens >= 0 && start.text_tokens % S == 0, "session start: ", start.text_tokens,
            " text tokens is not a whole number of chunks (S = ", S, ")");
  DRT_CHECK(start.memory != nullptr, "session start: no chunk memory given");
  DRT_CHECK(static_cast<int64_t>(start.lower_window.size()) == c.num_lower_layers(), "session start: ",
            start.lower_window.size(), " lower window caches for ", c.num_lower_layers(), " lower layers");
  const int64_t expected = c.retrieval ? chunks : 0;
  DRT_CHECK(start.memory->size() == expected, "session start: the chunk memory holds ", start.memory->size(),
            " chunks, expected ", expected);
  DRT_CHECK(!c.retrieval || (start.landmarks.defined() && start.landmarks.dim() == 2 &&
                             start.landmarks.size(0) == chunks && start.landmarks.size(1) == c.hidden_size),
            "session start: landmark keys must be [", chunks, ", ", c.hidden_size, "]");
  const ChunkShape shape = start.memory->shape();
  Session s(std::move(model), std::make_unique<RamChunkStore>(shape), options);
  s.memory_ = std::move(start.memory);
  if (expected > 0) s.append_landmarks(start.landmarks.to(torch::kFloat32));
  for (size_t i = 0; i < s.lower_cache_.size(); ++i)
    s.lower_cache_[i].restore(start.lower_window[i].first, start.lower_window[i].second);
  s.tokens_ = std::move(start.tokens);
  s.text_tokens_ = start.text_tokens;
  s.positions_ = start.text_tokens + chunks;
  return s;
}

// ---------------------------------------------------------------- memory files

void Session::save(const std::string& path) {
  const ModelConfig& c = model_->config;
  std::map<std::string, at::Tensor> state;
  state["landmarks"] = landmarks().clone();
  state["pending"] = pending_;
  state["tokens"] = torch::from_blob(tokens_.data(), {static_cast<int64_t>(tokens_.size())}, torch::kInt32).clone();
  if (last_logits_.defined()) state["last_logits"] = last_logits_;
  for (size_t i = 0; i < lower_cache_.size(); ++i) {
    state["window.lower." + std::to_string(i) + ".k"] = cache_tensor(lower_cache_[i].keys(), c);
    state["window.lower." + std::to_string(i) + ".v"] = cache_tensor(lower_cache_[i].values(), c);
  }
  for (size_t g = 0; g < upper_cache_.size(); ++g) {
    for (size_t i = 0; i < upper_cache_[g].size(); ++i) {
      const std::string p = "window.upper." + std::to_string(g) + "." + std::to_string(i);
      state[p + ".k"] = cache_tensor(upper_cache_[g][i].keys(), c);
      state[p + ".v"] = cache_tensor(upper_cache_[g][i].values(), c);
    }
    const auto& s = served_[g];
    state["served." + std::to_string(g) + ".chunks"] = torch::tensor(s.chunks, torch::kLong).view({-1});
    state["served." + std::to_string(g) + ".weights"] = torch::tensor(s.weights, torch::kFloat32).view({-1});
  }
  MemoryFileInfo info;
  info.model_hash = model_hash();
  info.config = c.to_json();
  info.text_tokens = text_tokens_;
  info.positions = positions_;
  write_memory_file(path, info, *memory_, state);
}

Session Session::load(DrtLM model, const std::string& path, MemorySpec tail, SessionOptions options) {
  LoadedMemoryFile file = read_memory_file(path);
  const MemoryFileInfo& info = file.info;
  const std::string hash = model_fingerprint(model);
  DRT_CHECK(info.model_hash == hash, "memory file ", path, " was written by another model (model hash ",
            info.model_hash, ", this model's is ", hash, "): a memory file only continues with the model that wrote it");
  const ModelConfig& c = model->config;
  DRT_CHECK(info.shape.chunk_size == c.enc_chunk_size && info.shape.hidden == c.hidden_size, "memory file ", path,
            " holds chunks of S=", info.shape.chunk_size, ", d=", info.shape.hidden, "; the model has S=",
            c.enc_chunk_size, ", d=", c.hidden_size);
  if (tail.disk) {
    namespace fs = std::filesystem;
    std::error_code ec;
    DRT_CHECK(!(fs::exists(tail.path) && fs::equivalent(tail.path, path, ec)), "--memory disk:", tail.path,
              " is the memory file being loaded; new chunks need another file (the loaded one is never modified)");
  }
  tail.dtype = info.shape.dtype;

  auto get = [&](const std::string& name) -> at::Tensor {
    auto it = file.state.find(name);
    DRT_CHECK(it != file.state.end(), "memory file ", path, " is corrupt: its state has no '", name, "'");
    return it->second;
  };
  auto base = open_memory_file_blocks(path, info);
  auto tail_store = make_chunk_store(tail, c.enc_chunk_size, c.hidden_size);
  Session s(std::move(model), std::make_unique<RamChunkStore>(info.shape), options);
  s.memory_ = std::make_unique<LayeredChunkStore>(std::move(base), std::move(tail_store));
  s.model_hash_ = hash;

  const int64_t S = c.enc_chunk_size, L = c.block_size();
  auto bad = [&](const std::string& what) { return Error(str_cat("memory file ", path, " is corrupt: ", what)); };
  if (info.positions != info.text_tokens + info.text_tokens / S) throw bad("token and position counts disagree");
  if (c.retrieval && info.chunks != info.positions / L) throw bad("chunk count disagrees with the positions");
  auto lm = get("landmarks");
  if (lm.dim() != 2 || lm.size(0) != info.chunks || lm.size(1) != c.hidden_size || lm.scalar_type() != at::kFloat)
    throw bad(str_cat("landmarks are ", lm.sizes(), ", expected [", info.chunks, ", ", c.hidden_size, "]"));
  auto pending = get("pending");
  const int64_t np = c.retrieval ? info.positions % L : 0;
  if (pending.dim() != 2 || pending.size(0) != np || pending.size(1) != c.hidden_size) throw bad("pending states");
  auto tokens = get("tokens");
  if (tokens.numel() != info.text_tokens || tokens.scalar_type() != at::kInt) throw bad("token list");

  s.num_chunks_ = 0;
  if (info.chunks > 0) s.append_landmarks(lm);
  s.pending_ = pending.to(torch::kFloat32);
  s.tokens_.assign(tokens.data_ptr<int32_t>(), tokens.data_ptr<int32_t>() + tokens.numel());
  s.text_tokens_ = info.text_tokens;
  s.positions_ = info.positions;
  if (file.state.count("last_logits")) s.last_logits_ = file.state["last_logits"];
  for (size_t i = 0; i < s.lower_cache_.size(); ++i)
    s.lower_cache_[i].restore(get("window.lower." + std::to_string(i) + ".k"),
                              get("window.lower." + std::to_string(i) + ".v"));
  for (size_t g = 0; g < s.upper_cache_.size(); ++g) {
    for (size_t i = 0; i < s.upper_cache_[g].size(); ++i) {
      const std::string p = "window.upper." + std::to_string(g) + "." + std::to_string(i);
      s.upper_cache_[g][i].restore(get(p + ".k"), get(p + ".v"));
    }
    auto chunks = get("served." + std::to_string(g) + ".chunks");
    auto weights = get("served." + std::to_string(g) + ".weights").to(torch::kFloat32);
    if (chunks.numel() != weights.numel() || chunks.numel() > c.chunk_topk) throw bad("served retrieval");
    auto& served = s.served_[g];
    served.chunks.assign(chunks.data_ptr<int64_t>(), chunks.data_ptr<int64_t>() + chunks.numel());
    served.weights.assign(weights.data_ptr<float>(), weights.data_ptr<float>() + weights.numel());
    for (int64_t id : served.chunks)
      if (id < 0 || id >= info.chunks) throw bad(str_cat("served retrieval names chunk ", id));
  }
  return s;
}

}  // namespace drt
