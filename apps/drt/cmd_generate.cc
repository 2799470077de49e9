// `drt generate`: read a prompt (after a loaded memory file, if given) and stream the
// continuation to stdout.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "apps/drt/commands.h"
#include "core/args.h"
#include "core/error.h"
#include "data/corpus.h"
#include "engine/generate.h"
#include "engine/model_files.h"
#include "io/file_util.h"
#include "model/checkpoint.h"

namespace drt::cli {

namespace {

// One line of chunk text for display: newlines shown as "\n", at most `max` bytes
// (cut at a UTF-8 character boundary).
std::string one_line(const std::string& text, size_t max = 80) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n') out += "\\n";
    else if (ch == '\t' || ch == '\r') out += ' ';
    else out += ch;
  }
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "…";
  }
  return out;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  Args args("generate",
            "Generate text with a streaming session: read the prompt (after the session saved in\n"
            "--load-memory, if given) and stream the continuation to stdout. The landmark token is\n"
            "inserted after every S tokens automatically. Sampling: --greedy, or temperature + top-p.");
  args.required("model", "DIR", "model directory")
      .option("prompt", "TEXT", "the prompt text")
      .option("prompt-file", "FILE", "read the prompt from a UTF-8 file")
      .option("load-memory", "FILE", "continue a session saved by `drt read` / --save-memory")
      .option("save-memory", "FILE", "after generating, save the session (prompt and output included)")
      .option("memory", "ram|disk:PATH", "where new chunk K/V blocks are stored", "ram")
      .option("memory-dtype", "fp32|fp16|bf16", "storage dtype of chunk K/V blocks (a loaded file keeps its own)",
              "fp32")
      .option("max-new", "N", "tokens to generate at most", "64")
      .flag("greedy", "always take the most likely token")
      .option("temperature", "T", "sampling temperature (without --greedy)", "0.8")
      .option("top-p", "P", "nucleus sampling: smallest token set with this probability mass", "0.95")
      .option("seed", "N", "sampling seed", "0")
      .flag("show-retrieval", "print on stderr which past chunks each new chunk retrieved, with their text")
      .flag("no-stop", "do not stop at the end-of-text (bos) token")
      .flag("no-bos", "do not read the bos id before the prompt of a new session")
      .flag("quiet", "print only the generated text");
  if (!args.parse(argc, argv)) return 0;
  DRT_CHECK(!(args.has("prompt") && args.has("prompt-file")), "give --prompt or --prompt-file, not both");
  const std::string model_dir = args.get("model");
  DrtLM model = load_model(model_dir);
  auto tokenizer = load_model_tokenizer(model_dir, model->config);
  std::string prompt;
  if (args.has("prompt")) prompt = args.get("prompt");
  if (args.has("prompt-file")) {
    prompt = read_text_file(args.get("prompt-file"));
    check_text(prompt, args.get("prompt-file"));
  }
  const std::string load = args.get_optional("load-memory").value_or("");
  const MemorySpec memory = MemorySpec::parse(args.get("memory"), args.get("memory-dtype"));
  const bool quiet = args.get_flag("quiet");

  GenerateOptions options;
  options.max_new = args.get_int("max-new");
  DRT_CHECK(options.max_new >= 0, "--max-new must be >= 0, got ", options.max_new);
  options.sampling.greedy = args.get_flag("greedy");
  options.sampling.temperature = args.get_double("temperature");
  options.sampling.top_p = args.get_double("top-p");
  options.sampling.seed = static_cast<uint64_t>(args.get_int("seed"));
  options.stop_at_bos = !args.get_flag("no-stop");

  Session session = open_session(model, memory, load);
  std::vector<int64_t> ids = tokenizer->encode(prompt);
  if (load.empty() && !args.get_flag("no-bos")) ids.insert(ids.begin(), model->config.bos_id);
  DRT_CHECK(!ids.empty() || session.last_logits().defined(),
            "nothing to continue from: give --prompt, --prompt-file or --load-memory");
  if (args.get_flag("show-retrieval")) {
    session.set_retrieval_callback([&session, &tokenizer](const RetrievalEvent& e) {
      if (e.chunks.empty()) return;
      std::string line = str_cat("[retrieval] group ", e.group, ": chunk ", e.chunk, " (serves chunk ", e.chunk + 1,
                                 ") <- ");
      for (size_t i = 0; i < e.chunks.size(); ++i) {
        char w[32];
        std::snprintf(w, sizeof w, "%.2f", e.weights[i]);
        line += str_cat(i ? " | " : "", "chunk ", e.chunks[i], " w=", w, " \"",
                        one_line(tokenizer->decode(session.chunk_tokens(e.chunks[i]))), "\"");
      }
      std::cout << std::flush;
      std::cerr << line << "\n" << std::flush;
    });
  }
  const auto t_prompt = std::chrono::steady_clock::now();
  if (!ids.empty()) session.read(ids, Logits::kNone);
  const double prompt_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_prompt).count();
  if (!quiet)
    std::cerr << "context " << session.text_tokens() << " tokens (" << session.chunks() << " chunks, prompt "
              << ids.size() << " tokens in " << prompt_secs << " s); chunk memory " << session.memory().describe()
              << "\n";

  // Stream the text: decode everything generated so far and print what is new, holding
  // back an incomplete UTF-8 character (shown as U+FFFD by decode).
  std::vector<int64_t> generated;
  size_t printed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  generate(session, options, [&](int64_t id) {
    generated.push_back(id);
    const std::string text = tokenizer->decode(generated);
    if (text.size() > printed && text.compare(text.size() >= 3 ? text.size() - 3 : 0, 3, "\xEF\xBF\xBD") != 0) {
      std::cout << text.substr(printed) << std::flush;
      printed = text.size();
    }
    return true;
  });
  const std::string text = tokenizer->decode(generated);
  if (text.size() > printed) std::cout << text.substr(printed);
  std::cout << "\n" << std::flush;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet)
    std::fprintf(stderr, "generated %zu tokens in %.2f s (%.1f ms/token); context now %lld tokens\n",
                 generated.size(), secs, generated.empty() ? 0.0 : 1000 * secs / generated.size(),
                 static_cast<long long>(session.text_tokens()));
  if (args.has("save-memory")) {
    session.save(args.get("save-memory"));
    if (!quiet) std::cerr << "saved memory file " << args.get("save-memory") << "\n";
  }
  return 0;
}

}  // namespace drt::cli
