#include "eval/passkey.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ostream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/progress.h"
#include "data/rng.h"
#include "engine/generate.h"
#include "viz/plot.h"

namespace drt {

PasskeyMode parse_passkey_mode(const std::string& name) {
  if (name == "token") return PasskeyMode::kToken;
  if (name == "text") return PasskeyMode::kText;
  throw Error(str_cat("--mode must be token or text, got '", name, "'"));
}

GcaChunks parse_gca_chunks(const std::string& name) {
  if (name == "all") return GcaChunks::kAll;
  if (name == "question") return GcaChunks::kQuestion;
  if (name == "before-question") return GcaChunks::kBeforeQuestion;
  if (name == "none") return GcaChunks::kNone;
  throw Error(str_cat("--gca-chunks must be all, question, before-question or none, got '", name, "'"));
}

const char* to_string(GcaChunks chunks) {
  switch (chunks) {
    case GcaChunks::kQuestion: return "question";
    case GcaChunks::kBeforeQuestion: return "before-question";
    case GcaChunks::kNone: return "none";
    case GcaChunks::kAll: break;
  }
  return "all";
}

std::string format_count(int64_t n) {
  if (n > 0 && n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + "M";
  if (n > 0 && n % 1024 == 0) return std::to_string(n / 1024) + "K";
  return std::to_string(n);
}

std::vector<double> depth_values(int64_t n) {
  DRT_CHECK(n >= 1, "--depths must be at least 1, got ", n);
  if (n == 1) return {0.5};
  std::vector<double> d;
  for (int64_t i = 0; i < n; ++i) d.push_back(static_cast<double>(i) / static_cast<double>(n - 1));
  return d;
}

bool token_mode_hit(const at::Tensor& logits, const std::vector<int64_t>& answer) {
  DRT_CHECK(logits.dim() == 2 && logits.size(0) == static_cast<int64_t>(answer.size()),
            "passkey: token-mode logits must be [", answer.size(), ", V], got ", logits.sizes());
  auto best = logits.argmax(1).contiguous();
  for (size_t i = 0; i < answer.size(); ++i)
    if (best[static_cast<int64_t>(i)].item<int64_t>() != answer[i]) return false;
  return true;
}

bool text_mode_hit(const std::string& generated, const std::string& passkey) {
  const auto a = passkey.find_first_not_of(' '), b = passkey.find_last_not_of(' ');
  if (a == std::string::npos) return false;
  return generated.find(passkey.substr(a, b - a + 1)) != std::string::npos;
}

void PasskeyCell::add(const PasskeyOutcome& o) {
  trials += 1;
  correct += o.correct ? 1 : 0;
  answer_tokens += o.answer_tokens;
  answer_tokens_right += o.answer_tokens_right;
  if (o.retrieved >= 0) {
    retrieval_trials += 1;
    retrieved += o.retrieved;
    needle_weight += o.needle_weight;
  }
}

double PasskeyReport::accuracy() const {
  int64_t t = 0, c = 0;
  for (const auto& r : results) {
    t += r.trials;
    c += r.correct;
  }
  return t > 0 ? static_cast<double>(c) / static_cast<double>(t) : 0.0;
}

nlohmann::json PasskeyReport::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json row = {{"length", r.length},   {"depth", r.depth},       {"trials", r.trials},
                          {"correct", r.correct}, {"accuracy", r.accuracy()}, {"contexts", r.contexts},
                          {"contexts_below_half", r.contexts_below_half}};
    if (r.trials > 0) row["needle_distance"] = r.needle_distance / static_cast<double>(r.trials);
    if (r.answer_tokens > 0)
      row["token_accuracy"] = static_cast<double>(r.answer_tokens_right) / static_cast<double>(r.answer_tokens);
    if (r.retrieval_trials > 0) {
      row["retrieval_rate"] = static_cast<double>(r.retrieved) / static_cast<double>(r.retrieval_trials);
      row["needle_weight"] = r.needle_weight / static_cast<double>(r.retrieval_trials);
    }
    rows.push_back(row);
  }
  return {{"task", task}, {"mode", mode}, {"results", rows}, {"accuracy", accuracy()}};
}

std::string PasskeyReport::table() const {
  std::ostringstream os;
  char line[160];
  // The answer's symbols are letters for copy-letters and digits for every other task.
  const char* symbols_ok = task == "copy-letters" ? "letters ok" : "digits ok";
  // With several contexts per cell, how many of them the cell got under half right: a
  // cell's accuracy can hide one text where the model fails every trial.
  const bool several = std::any_of(results.begin(), results.end(), [](const PasskeyCell& r) { return r.contexts > 1; });
  std::snprintf(line, sizeof line, "%-10s %8s %9s %8s %8s %9s %10s %10s %7s", "length", "depth", "distance",
                "trials", "correct", "accuracy", symbols_ok, "retrieved", "weight");
  os << line << (several ? "  contexts <50%\n" : "\n");
  auto pct = [](int64_t a, int64_t b) {
    char buf[16];
    if (b == 0) return std::string("-");
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(a) / static_cast<double>(b));
    return std::string(buf);
  };
  for (const auto& r : results) {
    char weight[16] = "-";
    if (r.retrieval_trials > 0)
      std::snprintf(weight, sizeof weight, "%.2f", r.needle_weight / static_cast<double>(r.retrieval_trials));
    const double distance = r.trials > 0 ? r.needle_distance / static_cast<double>(r.trials) : 0.0;
    std::snprintf(line, sizeof line, "%-10s %8.3f %9.0f %8lld %8lld %8.1f%% %10s %10s %7s",
                  format_count(r.length).c_str(), r.depth, distance, static_cast<long long>(r.trials),
                  static_cast<long long>(r.correct), 100 * r.accuracy(), pct(r.answer_tokens_right, r.answer_tokens).c_str(),
                  pct(r.retrieved, r.retrieval_trials).c_str(), weight);
    os << line;
    if (several)
      os << "  " << r.contexts_below_half << " of " << r.contexts;
    os << "\n";
  }
  std::snprintf(line, sizeof line, "%s (%s mode): overall accuracy %.1f%%\n", task.c_str(), mode.c_str(),
                100 * accuracy());
  os << line;
  return os.str();
}

namespace {

// Text of tokens for one line of output: newlines shown as spaces.
std::string one_line(const Tokenizer& tokenizer, const std::vector<int64_t>& tokens) {
  std::string text = tokenizer.decode(tokens);
  for (char& ch : text)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  return text;
}

// Reads sample tokens [from, T - A) into `session` (which has read [0, from)) and scores
// the answer in `mode`. With `show`, prints the model's answer and what the question's
// chunk was served by retrieval.
PasskeyOutcome score_sample(Session& session, const SyntheticSample& sample, int64_t from, PasskeyMode mode,
                            GcaChunks gca, const Tokenizer& tokenizer, std::ostream* show) {
  const auto A = static_cast<int64_t>(sample.answer.size());
  const auto T = static_cast<int64_t>(sample.tokens.size());
  const int64_t S = session.config().enc_chunk_size;
  const int64_t question_chunk = (T - 1) / S;
  if (gca == GcaChunks::kQuestion) session.set_gca_filter([=](int64_t c) { return c >= question_chunk; });
  if (gca == GcaChunks::kBeforeQuestion) session.set_gca_filter([=](int64_t c) { return c < question_chunk; });
  if (gca == GcaChunks::kNone) session.set_gca_filter([](int64_t) { return false; });
  std::vector<RetrievalEvent> served;  // the retrievals serving the question's chunk
  session.set_retrieval_callback([&](const RetrievalEvent& e) {
    if (e.chunk == question_chunk - 1) served.push_back(e);
  });
  // The chunks that hold the needle's answer tokens (the answer is unique before the tail).
  std::set<int64_t> answer_chunks;
  {
    const auto end = sample.tokens.end() - A;
    const auto at = std::search(sample.tokens.begin(), end, sample.answer.begin(), sample.answer.end());
    if (at != end) {
      const auto first = static_cast<int64_t>(at - sample.tokens.begin());
      answer_chunks = {first / S, (first + A - 1) / S};
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  // Everything before the answer: haystack, needles, question.
  auto last = session.read(sample.tokens.data() + from, T - A - from, Logits::kLast);
  const double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  PasskeyOutcome outcome;
  bool& hit = outcome.correct;
  std::vector<int64_t> answered;
  if (mode == PasskeyMode::kToken) {
    // Teacher forcing: the answer's own tokens give the predictions after the first.
    auto rest = session.read(sample.tokens.data() + (T - A), A - 1, Logits::kAll);
    auto logits = A > 1 ? torch::cat({last.unsqueeze(0), rest}, 0) : last.unsqueeze(0);
    hit = token_mode_hit(logits, sample.answer);
    auto best = logits.argmax(1).contiguous();
    for (int64_t i = 0; i < A; ++i) answered.push_back(best[i].item<int64_t>());
    outcome.answer_tokens = A;
    for (int64_t i = 0; i < A; ++i) outcome.answer_tokens_right += answered[i] == sample.answer[i] ? 1 : 0;
  } else {
    GenerateOptions options;
    options.max_new = A + 2;
    options.sampling.greedy = true;
    answered = generate(session, options);
    hit = text_mode_hit(tokenizer.decode(answered), tokenizer.decode(sample.answer));
  }
  if (session.config().retrieval && !answer_chunks.empty()) {
    outcome.retrieved = 0;
    for (const auto& e : served)
      for (size_t i = 0; i < e.chunks.size(); ++i)
        if (answer_chunks.count(e.chunks[i])) {
          outcome.retrieved = 1;
          outcome.needle_weight += static_cast<double>(e.weights[i]) / static_cast<double>(served.size());
        }
  }
  if (show) {
    std::ostream& os = *show;
    char rate[96];
    std::snprintf(rate, sizeof rate, "%.1f s, %.0f tokens/s", read_s, read_s > 0 ? (T - A - from) / read_s : 0.0);
    os << "sample: " << T << " tokens, needle at token " << sample.needle_pos << " (chunk " << sample.needle_pos / S
       << ", "
       << T - sample.needle_pos << " tokens before the answer); read " << T - A - from << " tokens in " << rate
       << "\n";
    os << "  passkey " << one_line(tokenizer, sample.answer) << "  model's answer " << one_line(tokenizer, answered)
       << "  -> " << (hit ? "right" : "wrong") << "\n";
    // What the sliding window holds when the answer starts (it counts landmarks too, so it
    // reaches a few tokens less far): a number in it can compete with the retrieved needle.
    const int64_t W = std::min(session.config().effective_window(), T - A);
    const std::vector<int64_t> in_window(sample.tokens.begin() + (T - A - W),
                                         sample.tokens.begin() + (T - A));
    os << "  window: \"" << one_line(tokenizer, in_window) << "\"\n";
    for (const auto& e : served) {
      os << "  group " << e.group << ": chunk " << e.chunk << " retrieved for the question's chunk " << question_chunk
         << ":";
      int64_t rank = -1;
      for (size_t i = 0; i < e.chunks.size(); ++i) {
        char w[48];
        std::snprintf(w, sizeof w, " %lld (%.2f)", static_cast<long long>(e.chunks[i]), e.weights[i]);
        os << w;
        if (answer_chunks.count(e.chunks[i]) && rank < 0) rank = static_cast<int64_t>(i);
      }
      os << (rank >= 0 ? "  [the needle's chunk ranks " + std::to_string(rank + 1) + "]"
                       : "  [the needle's chunk not among them]")
         << "\n";
      if (!e.chunks.empty())
        os << "    best: chunk " << e.chunks[0] << " \"" << one_line(tokenizer, session.chunk_tokens(e.chunks[0]))
           << "\"\n";
    }
    os << std::flush;
  }
  return outcome;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

PasskeyAttempt session_attempt(DrtLM model, const Tokenizer& tokenizer, PasskeyMode mode, const MemorySpec& memory,
                               std::ostream* show, GcaChunks gca) {
  return [model, &tokenizer, mode, memory, show, gca](const SyntheticSample& sample) mutable -> PasskeyOutcome {
    torch::NoGradGuard no_grad;
    const ModelConfig& c = model->config;
    Session session(model, make_chunk_store(memory, c.enc_chunk_size, c.hidden_size));
    return score_sample(session, sample, 0, mode, gca, tokenizer, show);
  };
}

// The state a spliced evaluation shares between prepare (one haystack per length) and
// start (one sample).
struct SplicedReader::State {
  DrtLM model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  std::vector<int64_t> haystack;
  SyntheticTask task = SyntheticTask::kPasskey;
  MemorySpec memory;
  bool progress = true;
  SpliceStats stats;

  // Geometry (chunks): a changed chunk changes the memory of the next `reach` chunks too;
  // a session started `cold` chunks before the end gives exact logits at the question.
  int64_t S = 0, reach = 0, cold = 0;

  // The current length.
  int64_t length = -1, offset = 0, chunks = 0, start = 0;  // start: where the last span begins
  std::unique_ptr<Session> base;                            // read the haystack to `start`
  at::Tensor landmarks;                                     // [start, d] (DRT)
  std::map<int64_t, std::vector<std::pair<at::Tensor, at::Tensor>>> windows;  // chunk -> lower caches

  int64_t hay(int64_t i) const {
    return haystack[static_cast<size_t>((offset + i) % static_cast<int64_t>(haystack.size()))];
  }

  // Runs of chunks whose memory a sample changes: [first, last] each, merged so that
  // the lower caches at a run's first chunk are the haystack's.
  std::vector<std::pair<int64_t, int64_t>> runs(const SyntheticSample& sample) const {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t c = 0; c < chunks; ++c) {
      bool dirty = false;
      for (int64_t i = c * S; i < (c + 1) * S && !dirty; ++i) dirty = sample.tokens[static_cast<size_t>(i)] != hay(i);
      if (!dirty) continue;
      if (!out.empty() && c <= out.back().second + 1) out.back().second = std::max(out.back().second, c + reach);
      else out.emplace_back(c, c + reach);
    }
    return out;
  }

  // Where the final session starts for these runs, and the runs patched before it.
  int64_t final_start(const std::vector<std::pair<int64_t, int64_t>>& rs, size_t* patched) const {
    size_t n = 0;
    int64_t z = start;
    for (const auto& r : rs) {
      if (r.second < start) {
        ++n;
        continue;
      }
      z = std::min(z, r.first);
      break;
    }
    if (patched) *patched = n;
    return z;
  }

  SessionStart start_at(int64_t chunk, const SyntheticSample& sample, std::unique_ptr<PatchedChunkStore> store,
                        const at::Tensor& lm) const {
    SessionStart st;
    st.text_tokens = chunk * S;
    st.memory = std::move(store);
    st.landmarks = lm;
    st.lower_window = windows.at(chunk);
    st.tokens.assign(sample.tokens.begin(), sample.tokens.begin() + chunk * S);
    return st;
  }

  std::unique_ptr<PatchedChunkStore> view(int64_t count) const {
    const ChunkStore& m = base->memory();
    MemorySpec ram;
    ram.dtype = m.shape().dtype;
    return std::make_unique<PatchedChunkStore>(m, model->config.retrieval ? count : 0,
                                               make_chunk_store(ram, S, model->config.hidden_size));
  }

  void prepare(int64_t len, const std::vector<SyntheticOptions>& samples) {
    torch::NoGradGuard no_grad;
    DRT_CHECK(!samples.empty() && samples.front().haystack_offset >= 0,
              "spliced passkey evaluation: the samples must overlay one haystack (PasskeyOptions::overlay)");
    const ModelConfig& c = model->config;
    length = len;
    offset = samples.front().haystack_offset;
    chunks = len / S;
    start = std::max<int64_t>(0, chunks - cold);
    base.reset();
    windows.clear();
    // Where sessions will start: each patched run's first chunk and each final start.
    std::set<int64_t> needed = {start};
    for (const auto& o : samples) {
      DRT_CHECK(o.haystack_offset == offset, "spliced passkey evaluation: samples of one length overlay different "
                                             "haystack offsets");
      const SyntheticSample sample = make_synthetic(task, *tokenizer, haystack, o);
      const auto rs = runs(sample);
      size_t patched = 0;
      needed.insert(final_start(rs, &patched));
      for (size_t i = 0; i < patched; ++i) needed.insert(rs[i].first);
    }
    base = std::make_unique<Session>(model, make_chunk_store(memory, S, c.hidden_size));
    std::vector<int64_t> text(static_cast<size_t>(start * S));
    for (int64_t i = 0; i < start * S; ++i) text[static_cast<size_t>(i)] = hay(i);
    Progress bar("haystack " + format_count(len), start * S, 0, "tok", !progress);
    for (int64_t chunk : needed) {
      const int64_t from = base->text_tokens();
      // Bounded pieces, so the progress line moves during a million-token read.
      for (int64_t at = from; at < chunk * S;) {
        const int64_t take = std::min<int64_t>(chunk * S - at, 64 * 1024);
        base->read(text.data() + at, take, Logits::kNone);
        at += take;
        bar.update(at, "reading the haystack once for all samples of this length");
      }
      windows[chunk] = base->lower_window();
    }
    bar.finish();
    landmarks = c.retrieval ? base->landmarks() : at::Tensor();
    stats.haystack_tokens += start * S;
  }

  Session start_for(const SyntheticSample& sample, int64_t* from) {
    torch::NoGradGuard no_grad;
    DRT_CHECK(static_cast<int64_t>(sample.tokens.size()) == length,
              "spliced passkey evaluation: a sample of a length that was not prepared");
    const ModelConfig& c = model->config;
    const auto rs = runs(sample);
    size_t patched = 0;
    const int64_t z = final_start(rs, &patched);
    auto store = view(z);
    at::Tensor lm = c.retrieval ? landmarks.narrow(0, 0, z).clone() : at::Tensor();
    for (size_t i = 0; c.retrieval && i < patched; ++i) {
      // Re-encode the run's chunks: a session started at its first chunk (whose lower
      // caches are the haystack's) reads the sample through the run's last chunk.
      const auto [first, last] = rs[i];
      Session run = Session::start_from(model, start_at(first, sample, view(first), landmarks.narrow(0, 0, first)));
      run.read(sample.tokens.data() + first * S, (last + 1 - first) * S, Logits::kNone);
      for (int64_t chunk = first; chunk <= last; ++chunk) store->patch(chunk, run.memory(), chunk);
      lm.narrow(0, first, last + 1 - first).copy_(run.landmarks().narrow(0, first, last + 1 - first));
      stats.sample_tokens += (last + 1 - first) * S;
    }
    stats.sample_tokens += length - z * S;
    stats.samples += 1;
    *from = z * S;
    return Session::start_from(model, start_at(z, sample, std::move(store), lm));
  }
};

SplicedReader::SplicedReader(DrtLM model, const Tokenizer& tokenizer, std::vector<int64_t> haystack,
                             SyntheticTask task, const MemorySpec& memory, bool progress)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  const ModelConfig& c = model->config;
  DRT_CHECK(c.slide_window > 0, "spliced passkey evaluation needs a sliding-window model (slide_window > 0); use "
                                "--read full");
  st.model = model;
  st.tokenizer = &tokenizer;
  st.haystack = std::move(haystack);
  st.task = task;
  st.memory = memory;
  st.progress = progress;
  st.S = c.enc_chunk_size;
  const int64_t L = c.block_size(), W = c.slide_window;
  int64_t layers = 0;
  for (int64_t n : c.decoder_layers) layers += n;
  const int64_t lower = c.num_lower_layers(), upper = layers - lower;
  st.reach = ceil_div(lower * W, L);
  st.cold = ceil_div(upper * W, L) + 1;
}

SplicedReader::~SplicedReader() = default;

void SplicedReader::prepare(int64_t length, const std::vector<SyntheticOptions>& samples) {
  state_->prepare(length, samples);
}

Session SplicedReader::start(const SyntheticSample& sample, int64_t* from) { return state_->start_for(sample, from); }

const SpliceStats& SplicedReader::stats() const { return state_->stats; }

SplicedPasskey spliced_attempt(DrtLM model, const Tokenizer& tokenizer, const std::vector<int64_t>& haystack,
                               SyntheticTask task, PasskeyMode mode, const MemorySpec& memory, bool progress,
                               std::ostream* show, GcaChunks gca) {
  auto reader = std::make_shared<SplicedReader>(model, tokenizer, haystack, task, memory, progress);
  SplicedPasskey out;
  out.reader = reader;
  out.prepare = [reader](int64_t length, const std::vector<SyntheticOptions>& samples) {
    reader->prepare(length, samples);
  };
  out.attempt = [reader, mode, gca, &tokenizer, show](const SyntheticSample& sample) -> PasskeyOutcome {
    torch::NoGradGuard no_grad;
    int64_t from = 0;
    Session session = reader->start(sample, &from);
    return score_sample(session, sample, from, mode, gca, tokenizer, show);
  };
  return out;
}

PasskeyReport run_passkey(const Tokenizer& tokenizer, const std::vector<int64_t>& haystack, int64_t chunk_size,
                          const PasskeyOptions& options, const PasskeyAttempt& attempt,
                          const PasskeyPrepare& prepare) {
  DRT_CHECK(!options.lengths.empty(), "passkey: no --lengths given");
  DRT_CHECK(options.trials >= 1, "--trials must be at least 1, got ", options.trials);
  DRT_CHECK(options.contexts >= 1, "--contexts must be at least 1, got ", options.contexts);
  DRT_CHECK(options.contexts == 1 || options.overlay,
            "passkey: --contexts needs overlaid samples (each sample has a context of its own otherwise)");
  DRT_CHECK(!haystack.empty(), "passkey: the haystack is empty");
  const std::vector<double> depths = options.depth_list.empty() ? depth_values(options.depths) : options.depth_list;
  for (double d : depths) DRT_CHECK(d >= 0 && d <= 1, "passkey: depth ", d, " is not in [0, 1]");
  std::vector<int64_t> lengths;
  int64_t total = 0;
  for (int64_t n : options.lengths) {
    DRT_CHECK(n > 0, "passkey: length ", n, " must be positive");
    lengths.push_back((n + chunk_size - 1) / chunk_size * chunk_size);  // whole chunks
    total += lengths.back() * static_cast<int64_t>(depths.size()) * options.trials * options.contexts;
  }
  PasskeyReport report;
  report.task = to_string(options.task);
  report.mode = options.mode == PasskeyMode::kToken ? "token" : "text";
  // A spliced read (with `prepare`) costs about the same per sample at any length: count
  // samples, so the ETA means something; a full read costs its length: count tokens.
  const bool by_sample = static_cast<bool>(prepare);
  int64_t samples_total = 0;
  for (size_t li = 0; li < lengths.size(); ++li)
    samples_total += static_cast<int64_t>(depths.size()) * options.trials * options.contexts;
  Progress progress("passkey", by_sample ? samples_total : total, 0, by_sample ? "samples" : "tok", !options.progress);
  int64_t samples_done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0, sample_index = 0;
  for (size_t li = 0; li < lengths.size(); ++li) {
    const int64_t length = lengths[li];
    std::vector<PasskeyCell> cells;  // [depths]
    for (double depth : depths) cells.push_back(PasskeyCell{length, depth, 0, 0});
    for (int64_t context = 0; context < options.contexts; ++context) {
      // Every sample of this length and context: depth-major, then trial. Context 0 is the
      // read of one context (its offset and its samples' seeds), so --contexts N adds texts to
      // it; later contexts draw other digits as well.
      std::vector<SyntheticOptions> samples;
      int64_t index = sample_index;
      SplitMix64 offset_rng(options.seed * 0x9E3779B97F4A7C15ULL + li + 1 +
                            static_cast<uint64_t>(context) * 0xD1B54A32D192ED03ULL);
      const auto offset = static_cast<int64_t>(offset_rng.below(haystack.size()));
      for (double depth : depths)
        for (int64_t trial = 0; trial < options.trials; ++trial) {
          SyntheticOptions so;
          so.length = length;
          so.chunk_size = chunk_size;
          so.depth = depth;
          so.answer_length = options.answer_length;
          so.copy_length = options.copy_length;
          so.seed = options.seed * 1000003ULL + static_cast<uint64_t>(index++) +
                    static_cast<uint64_t>(context) * 0x9E3779B97F4A7C15ULL;
          if (options.overlay) so.haystack_offset = offset;
          samples.push_back(so);
        }
      if (prepare) prepare(length, samples);
      for (size_t di = 0; di < depths.size(); ++di) {
        PasskeyCell& cell = cells[di];
        const int64_t correct_before = cell.correct;
        for (int64_t trial = 0; trial < options.trials; ++trial) {
          const SyntheticOptions& so = samples[di * static_cast<size_t>(options.trials) + static_cast<size_t>(trial)];
          SyntheticSample sample = make_synthetic(options.task, tokenizer, haystack, so);
          cell.add(attempt(sample));
          cell.needle_distance += static_cast<double>(sample.tokens.size() - sample.answer.size()) -
                                  static_cast<double>(sample.needle_pos);
          done += length;
          const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          char status[160];
          std::snprintf(status, sizeof status, "length %s depth %.2f  acc %.1f%%  %.0f %stok/s",
                        format_count(length).c_str(), depths[di], 100 * cell.accuracy(), secs > 0 ? done / secs : 0.0,
                        by_sample ? "effective " : "");
          progress.update(by_sample ? ++samples_done : done, status);
        }
        cell.contexts += 1;
        if (2 * (cell.correct - correct_before) < options.trials) cell.contexts_below_half += 1;
      }
    }
    sample_index += static_cast<int64_t>(depths.size()) * options.trials;
    report.results.insert(report.results.end(), cells.begin(), cells.end());
  }
  progress.finish();
  return report;
}

void write_passkey_heatmap(const std::string& path, const PasskeyReport& report) {
  std::vector<int64_t> lengths;
  std::vector<double> depths;
  for (const auto& r : report.results) {
    if (std::find(lengths.begin(), lengths.end(), r.length) == lengths.end()) lengths.push_back(r.length);
    if (std::find(depths.begin(), depths.end(), r.depth) == depths.end()) depths.push_back(r.depth);
  }
  viz::Heatmap h;
  h.title = report.task + " accuracy (" + report.mode + " mode)";
  h.x_label = "context length (tokens)";
  h.y_label = "needle depth";
  for (int64_t n : lengths) h.x_ticks.push_back(format_count(n));
  for (double d : depths) h.y_ticks.push_back(std::to_string(static_cast<int>(std::lround(100 * d))) + "%");
  h.values.assign(depths.size(), std::vector<double>(lengths.size(), std::nan("")));
  for (const auto& r : report.results) {
    const auto x = std::find(lengths.begin(), lengths.end(), r.length) - lengths.begin();
    const auto y = std::find(depths.begin(), depths.end(), r.depth) - depths.begin();
    h.values[static_cast<size_t>(y)][static_cast<size_t>(x)] = r.accuracy();
  }
  viz::write_heatmap(path, h);
}

}  // namespace drt
