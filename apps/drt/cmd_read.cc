// `drt read`: read a text into a streaming session and save it as a memory file, which
// `drt generate --load-memory` continues without re-reading.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "apps/drt/commands.h"
#include "core/args.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/corpus.h"
#include "engine/model_files.h"
#include "eval/rss.h"
#include "io/file_util.h"
#include "model/checkpoint.h"

namespace drt::cli {

int cmd_read(int argc, char** argv) {
  Args args("read",
            "Read a text with a streaming session (window caches + chunk memory; DESIGN §3) and save the\n"
            "session as a memory file: `drt generate --load-memory FILE` then continues exactly where\n"
            "reading stopped. With --memory disk:PATH the chunk blocks go to PATH as they are written\n"
            "(resident memory stays flat); --save-memory PATH with the same PATH finishes it in place.");
  args.required("model", "DIR", "model directory")
      .required("input", "FILE", "UTF-8 text file to read")
      .option("save-memory", "FILE", "write the session to this memory file")
      .option("load-memory", "FILE", "continue a saved session (its file is not modified)")
      .option("memory", "ram|disk:PATH", "where new chunk K/V blocks are stored", "ram")
      .option("memory-dtype", "fp32|fp16|bf16", "storage dtype of chunk K/V blocks (a loaded file keeps its own)",
              "fp32")
      .option("segment", "N", "text tokens per read step (progress granularity)", "8192")
      .option("max-tokens", "N", "read at most this many tokens of the input (k/m suffixes)")
      .flag("no-bos", "do not read the bos id before the text of a new session")
      .flag("quiet", "no progress line");
  if (!args.parse(argc, argv)) return 0;
  const std::string model_dir = args.get("model");
  DrtLM model = load_model(model_dir);
  auto tokenizer = load_model_tokenizer(model_dir, model->config);
  const std::string input = args.get("input");
  const std::string text = read_text_file(input);
  check_text(text, input);
  std::vector<int64_t> ids = tokenizer->encode(text);
  if (args.has("max-tokens")) {
    const int64_t max = parse_count(args.get("max-tokens"));
    if (static_cast<int64_t>(ids.size()) > max) ids.resize(static_cast<size_t>(max));
  }
  const std::string load = args.get_optional("load-memory").value_or("");
  const MemorySpec memory = MemorySpec::parse(args.get("memory"), args.get("memory-dtype"));
  Session session = open_session(model, memory, load);
  if (load.empty() && !args.get_flag("no-bos")) ids.insert(ids.begin(), model->config.bos_id);

  const int64_t segment = args.get_int("segment");
  DRT_CHECK(segment > 0, "--segment must be positive, got ", segment);
  const int64_t n = static_cast<int64_t>(ids.size());
  Progress progress("read", n, 0, "tok", args.get_flag("quiet"));
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t at = 0; at < n; at += segment) {
    const int64_t take = std::min(segment, n - at);
    session.read(ids.data() + at, take, Logits::kNone);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char status[128];
    std::snprintf(status, sizeof status, "%.0f tok/s  %lld chunks  rss %.0f MiB", secs > 0 ? (at + take) / secs : 0.0,
                  static_cast<long long>(session.chunks()), current_rss_mib());
    progress.update(at + take, status);
  }
  progress.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("read %lld tokens in %.1f s (%.0f tokens/s); context %lld tokens, %lld chunks; chunk memory %s (%s); "
              "peak RSS %.0f MiB\n",
              static_cast<long long>(n), secs, secs > 0 ? n / secs : 0.0,
              static_cast<long long>(session.text_tokens()), static_cast<long long>(session.chunks()),
              session.memory().describe().c_str(), storage_dtype_name(session.memory().shape().dtype), peak_rss_mib());
  if (args.has("save-memory")) {
    const std::string path = args.get("save-memory");
    session.save(path);
    std::printf("saved memory file %s\n", path.c_str());
  }
  return 0;
}

}  // namespace drt::cli
