// `drt eval ppl`: streaming perplexity per position bucket.
// `drt eval passkey`: passkey / multikey / multihop accuracy by context length and depth.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "apps/drt/commands.h"
#include "core/args.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/corpus.h"
#include "data/synthetic.h"
#include "data/token_file.h"
#include "engine/model_files.h"
#include "eval/infer_bench.h"
#include "eval/passkey.h"
#include "eval/perplexity.h"
#include "eval/rss.h"
#include "io/file_util.h"
#include "model/checkpoint.h"
#include "viz/plot.h"

namespace drt::cli {

namespace {

void write_json(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

int eval_ppl(int argc, char** argv) {
  Args args("eval ppl",
            "Streaming perplexity over long documents: each document is read by a fresh session and every\n"
            "token's cross-entropy is accumulated, overall and per position bucket (0-2K, 2K-8K, 8K-32K,\n"
            "... x4 each). loss = mean cross-entropy in nats/token; ppl = exp(loss).");
  args.required("model", "DIR", "model directory")
      .option("data", "DIR", "a `drt prepare` output: its valid split's documents")
      .option("input", "FILE", "a UTF-8 text file (one document)")
      .option("max-tokens", "N", "score at most N tokens (k/m suffixes)")
      .option("json", "FILE", "write the results as JSON")
      .option("memory", "ram|disk:PATH", "chunk memory of the sessions", "ram")
      .option("memory-dtype", "fp32|fp16|bf16", "storage dtype of chunk K/V blocks", "fp32")
      .option("segment", "N", "tokens per read step", "512")
      .option("first-bucket", "N",
              "end of the first position bucket; the next ones end at 4x each (512 or 128 split 0-2K and keep "
              "the later buckets)",
              "2048")
      .flag("no-bos", "do not read the bos id before each document")
      .flag("quiet", "no progress line");
  if (!args.parse(argc, argv, 2)) return 0;
  DRT_CHECK(args.has("data") != args.has("input"), "give exactly one of --data DIR or --input FILE");
  const std::string model_dir = args.get("model");
  DrtLM model = load_model(model_dir);
  const ModelConfig& c = model->config;
  PerplexityOptions options;
  if (args.has("max-tokens")) options.max_tokens = parse_count(args.get("max-tokens"));
  options.segment = args.get_int("segment");
  options.first_bucket = parse_count(args.get("first-bucket"));
  DRT_CHECK(options.first_bucket > 0, "--first-bucket ", args.get("first-bucket"), " must be a positive number of tokens");
  options.memory = MemorySpec::parse(args.get("memory"), args.get("memory-dtype"));
  options.bos_id = args.get_flag("no-bos") ? -1 : c.bos_id;
  options.progress = !args.get_flag("quiet");

  const auto t0 = std::chrono::steady_clock::now();
  PerplexityResult result;
  if (args.has("data")) {
    TokenFile valid = TokenFile::open(args.get("data"), "valid");
    DRT_CHECK(valid.manifest().vocab_size == c.vocab_size, args.get("data"), " was tokenized with a vocabulary of ",
              valid.manifest().vocab_size, " ids; the model has ", c.vocab_size);
    const auto& starts = valid.document_starts();
    options.expected_tokens = valid.size();
    result = evaluate_perplexity(model, valid.documents(), [&](int64_t d) {
      std::vector<int64_t> doc(static_cast<size_t>(starts[d + 1] - starts[d]));
      valid.read(starts[d], static_cast<int64_t>(doc.size()), doc.data());
      return doc;
    }, options);
  } else {
    auto tokenizer = load_model_tokenizer(model_dir, c);
    const std::string text = read_text_file(args.get("input"));
    check_text(text, args.get("input"));
    std::vector<int64_t> doc = tokenizer->encode(text);
    options.expected_tokens = static_cast<int64_t>(doc.size());
    result = evaluate_perplexity(model, 1, [&](int64_t) { return doc; }, options);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << result.table() << format_duration(secs) << ", peak RSS " << static_cast<int64_t>(peak_rss_mib())
            << " MiB\n"
            << std::flush;
  if (args.has("json")) {
    nlohmann::json j = result.to_json();
    j["seconds"] = secs;
    j["peak_rss_mib"] = peak_rss_mib();
    write_json(args.get("json"), j);
    std::cout << "wrote " << args.get("json") << "\n";
  }
  return 0;
}

int eval_passkey(int argc, char** argv) {
  Args args("eval passkey",
            "Passkey retrieval accuracy by context length and needle depth: the haystack text is repeated\n"
            "to each length, a needle placed at each depth, and the question asked at the end. token mode:\n"
            "teacher-forced, a hit when every answer token is the argmax; text mode: greedy generation, a\n"
            "hit when the output contains the passkey. Writes JSON and a depth x length heatmap PNG.");
  args.required("model", "DIR", "model directory")
      .required("lengths", "LIST", "context lengths, comma-separated, k/m suffixes (4k,64k,1m,16m)")
      .option("depths", "N|LIST", "needle depths: N evenly spaced from 0 to 1 (N = 1 is the middle, 0.5), or fractions with "
              "a '.' or ',' (1.0: just before the question; 0.1,0.5)",
              "10")
      .option("trials", "N", "samples per (length, depth) and context", "1")
      .option("contexts", "N",
              "haystack contexts per length: each length is read at N offsets of the haystack (N x the read "
              "time), so a cell is N texts, not one place in one text with only its digits changed",
              "1")
      .option("task", "NAME", "passkey, multikey, multihop, copy (a long digit string repeated) or copy-letters", "passkey")
      .option("haystack", "kjv|brown|filler|FILE",
              "filler text: the King James Bible, the Brown corpus, the repetitive passkey filler, or a UTF-8 file",
              "kjv")
      .option("read", "spliced|full",
              "spliced: read each length's haystack once and per sample only what its needle changes (exact, "
              "O(layers x W) per sample); full: read every sample whole",
              "spliced")
      .option("mode", "token|text", "teacher-forced answer tokens, or greedy generation", "token")
      .option("memory", "ram|disk:PATH", "chunk memory of the sessions", "ram")
      .option("memory-dtype", "fp32|fp16|bf16", "storage dtype of chunk K/V blocks", "fp32")
      .option("seed", "N", "sample seed", "0")
      .option("answer-length", "N", "digits in the passkey", "5")
      .option("copy-length", "N", "copy tasks: symbols in the copied string (0 = chunk size - 1)", "0")
      .option("gca-chunks", "all|question|before-question|none",
              "a diagnostic ablation: the chunks GCA serves (question: only the question's chunk; "
              "before-question: all but it; none: no chunk). Retrievals are still made and reported",
              "all")
      .option("json", "FILE", "write results here (and the heatmap next to it, .png)")
      .flag("show", "print each sample's answer and the chunks retrieved for the question")
      .flag("quiet", "no progress line");
  if (!args.parse(argc, argv, 2)) return 0;
  const std::string model_dir = args.get("model");
  DrtLM model = load_model(model_dir);
  auto tokenizer = load_model_tokenizer(model_dir, model->config);
  std::ostream* show = args.get_flag("show") ? &std::cout : nullptr;
  PasskeyOptions options;
  options.task = parse_synthetic_task(args.get("task"));
  options.lengths = args.get_ints("lengths");
  const std::string depths = args.get("depths");
  if (depths.find_first_of(".,") != std::string::npos) {
    options.depth_list = args.get_doubles("depths");  // run_passkey checks each is in [0, 1]
  } else {
    options.depths = args.get_int("depths");
  }
  options.trials = args.get_int("trials");
  options.contexts = args.get_int("contexts");
  options.mode = parse_passkey_mode(args.get("mode"));
  options.seed = static_cast<uint64_t>(args.get_int("seed"));
  options.answer_length = args.get_int("answer-length");
  options.copy_length = args.get_int("copy-length");
  options.progress = !args.get_flag("quiet");
  const GcaChunks gca = parse_gca_chunks(args.get("gca-chunks"));
  DRT_CHECK(gca == GcaChunks::kAll || model->config.retrieval, "--gca-chunks ", args.get("gca-chunks"),
            ": the model in ", model_dir, " has no retrieval (a window baseline)");
  const MemorySpec memory = MemorySpec::parse(args.get("memory"), args.get("memory-dtype"));

  const std::string hay = args.get("haystack");
  std::vector<int64_t> haystack = tokenizer->encode(named_text(hay));
  DRT_CHECK(!haystack.empty(), "the haystack ", hay, " is empty");

  const std::string read = args.get("read");
  DRT_CHECK(read == "spliced" || read == "full", "--read must be spliced or full, got '", read, "'");
  // Both readings score the same samples: each length's samples overlay one haystack.
  options.overlay = true;
  const auto t0 = std::chrono::steady_clock::now();
  PasskeyReport report;
  std::string how;
  if (read == "spliced") {
    SplicedPasskey spliced =
        spliced_attempt(model, *tokenizer, haystack, options.task, options.mode, memory, options.progress, show, gca);
    report = run_passkey(*tokenizer, haystack, model->config.enc_chunk_size, options, spliced.attempt,
                         spliced.prepare);
    const SpliceStats& st = spliced.stats();
    int64_t sample_total = 0;
    for (const auto& cell : report.results) sample_total += cell.length * cell.trials;
    how = str_cat("spliced read: ", format_count(st.haystack_tokens), " haystack tokens once + ",
                  st.sample_tokens, " tokens for ", st.samples, " samples, instead of ", sample_total);
  } else {
    report = run_passkey(*tokenizer, haystack, model->config.enc_chunk_size, options,
                         session_attempt(model, *tokenizer, options.mode, memory, show, gca));
    how = "full read of every sample";
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (gca == GcaChunks::kQuestion) how += "; GCA ablated: it serves only the question's chunk";
  if (gca == GcaChunks::kBeforeQuestion) how += "; GCA ablated: it serves every chunk but the question's";
  if (gca == GcaChunks::kNone) how += "; GCA ablated: it serves no chunk";
  std::cout << report.table() << how << "; " << format_duration(secs) << ", peak RSS "
            << static_cast<int64_t>(peak_rss_mib()) << " MiB\n"
            << std::flush;
  if (args.has("json")) {
    const std::string path = args.get("json");
    nlohmann::json j = report.to_json();
    j["read"] = read;
    j["gca_chunks"] = to_string(gca);
    j["haystack"] = hay;
    j["seconds"] = secs;
    j["peak_rss_mib"] = peak_rss_mib();
    write_json(path, j);
    std::string png = path;
    const auto dot = png.find_last_of('.'), slash = png.find_last_of('/');
    if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) png = png.substr(0, dot);
    png += ".png";
    write_passkey_heatmap(png, report);
    std::cout << "wrote " << path << " and " << png << "\n";
  }
  return 0;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  DRT_CHECK(n > 0, "cannot resolve /proc/self/exe");
  buf[n] = '\0';
  return buf;
}

}  // namespace

// `drt bench infer` (dispatched from cmd_bench): every case in a child process
// (`drt bench infer --one ...`), so each peak RSS is that case's own.
int cmd_bench_infer(int argc, char** argv) {
  Args args("bench infer",
            "Streaming inference speed: reading throughput (tokens/s) and generation latency (ms/token) at\n"
            "each context length, with peak RSS, for DRT and its baselines of the same size (window:\n"
            "sliding-window attention only; full: full causal attention). Random weights of --config\n"
            "unless --model is given (then 'drt' uses its weights). Each case runs in a fresh process.");
  args.option("config", "NAME|FILE", "model config (preset name or file)", "small")
      .option("model", "DIR", "use this model directory's config and weights")
      .option("contexts", "LIST", "context lengths, comma-separated, k/m suffixes", "16k,256k,1m")
      .option("models", "LIST", "drt, window, full", "drt,window,full")
      .option("memory", "LIST", "chunk memory backends for drt: ram, disk", "ram,disk")
      .option("disk-dir", "DIR", "where disk chunk memory files go", "/tmp")
      .option("full-max", "N", "skip full attention above this context (its cost grows quadratically)", "256k")
      .option("generate", "N", "tokens generated per case", "32")
      .option("segment", "N", "tokens per read call", "4096")
      .option("json", "FILE", "write {\"results\": [...]} here")
      .flag("quiet", "no progress lines")
      .flag("one", "(internal) run one case in this process and print its JSON")
      .option("case-model", "NAME", "(internal, with --one)", "drt")
      .option("case-context", "N", "(internal, with --one)", "16384")
      .option("case-memory", "NAME", "(internal, with --one)", "ram");
  if (!args.parse(argc, argv, 2)) return 0;
  ModelConfig base;
  const std::string model_dir = args.get_optional("model").value_or("");
  if (!model_dir.empty()) base = ModelConfig::load(model_dir + "/config.json");
  else base = ModelConfig::preset_or_file(args.get("config"));
  const int64_t generate_tokens = args.get_int("generate"), segment = args.get_int("segment");
  DRT_CHECK(generate_tokens > 0 && segment > 0, "--generate and --segment must be positive");

  if (args.get_flag("one")) {
    InferBenchCase c{args.get("case-model"), parse_count(args.get("case-context")), args.get("case-memory")};
    const std::string disk = args.get("disk-dir") + "/drt_bench_infer_" + std::to_string(::getpid()) + ".mem";
    InferBenchResult r =
        run_infer_case(base, model_dir, c, generate_tokens, segment, disk, !args.get_flag("quiet"));
    std::remove(disk.c_str());
    std::cout << "result " << infer_result_json(r).dump() << "\n";
    return 0;
  }

  const std::string exe = self_exe();
  const int64_t full_max = parse_count(args.get("full-max"));
  std::vector<InferBenchResult> results;
  for (const int64_t context : args.get_ints("contexts")) {
    for (const auto& model : split_commas(args.get("models"))) {
      std::vector<std::string> memories = {"ram"};
      if (model == "drt") memories = split_commas(args.get("memory"));
      if (model == "full" && context > full_max) {
        std::cerr << "skipping full attention at " << context << " tokens (above --full-max " << full_max << ")\n";
        continue;
      }
      for (const auto& memory : memories) {
        std::string cmd = str_cat("'", exe, "' bench infer --one --case-model ", model, " --case-context ", context,
                                  " --case-memory ", memory, " --generate ", generate_tokens, " --segment ", segment,
                                  " --disk-dir '", args.get("disk-dir"), "'");
        if (!model_dir.empty()) cmd += " --model '" + model_dir + "'";
        else cmd += " --config '" + args.get("config") + "'";
        if (args.get_flag("quiet")) cmd += " --quiet";
        FILE* pipe = popen(cmd.c_str(), "r");
        DRT_CHECK(pipe != nullptr, "cannot run ", cmd);
        std::string result_line;
        char line[4096];
        while (std::fgets(line, sizeof line, pipe) != nullptr)
          if (std::string(line).rfind("result ", 0) == 0) result_line = line + 7;
        const int status = pclose(pipe);
        DRT_CHECK(status == 0 && !result_line.empty(), "bench case failed: ", cmd);
        results.push_back(infer_result_from_json(nlohmann::json::parse(result_line)));
        const auto& r = results.back();
        std::fprintf(stderr, "%s %lld %s: read %.0f tok/s, generate %.2f ms/token, peak RSS %.0f MB\n",
                     model.c_str(), static_cast<long long>(context), memory.c_str(), r.read_tokens_per_s,
                     r.generate_ms_per_token, r.peak_rss_mb);
      }
    }
  }
  std::cout << infer_results_table(results) << std::flush;
  if (args.has("json")) {
    write_json(args.get("json"), infer_results_json(results));
    std::cout << "wrote " << args.get("json") << "\n";
  }
  return 0;
}

// Several results of one kind in one picture: passkey accuracy (mean over depths) or
// perplexity by position bucket, against context length / position, one line per file.
int eval_plot(int argc, char** argv) {
  Args args("eval plot",
            "Plot several `drt eval passkey --json` results (accuracy over all depths vs context length) or\n"
            "several `drt eval ppl --json` results (perplexity vs position bucket) in one PNG, one line each.");
  args.required("inputs", "LIST", "JSON result files, comma-separated (all passkey or all ppl)")
      .option("labels", "LIST", "legend labels, comma-separated (default: the file names)")
      .option("title", "TEXT", "plot title")
      .option("metric", "accuracy|token_accuracy|retrieval_rate|needle_weight", "passkey: what to plot", "accuracy")
      .option("x", "length|distance",
              "passkey: against context length (mean over depths), or against the needle's distance from the "
              "answer (one point per length and depth)",
              "length")
      .required("out", "FILE", "PNG to write");
  if (!args.parse(argc, argv, 2)) return 0;
  const std::vector<std::string> inputs = split_commas(args.get("inputs"));
  std::vector<std::string> labels = args.has("labels") ? split_commas(args.get("labels")) : inputs;
  DRT_CHECK(labels.size() == inputs.size(), "--labels has ", labels.size(), " labels for ", inputs.size(), " inputs");
  const std::string metric = args.get("metric");
  DRT_CHECK(metric == "accuracy" || metric == "token_accuracy" || metric == "retrieval_rate" ||
                metric == "needle_weight",
            "--metric must be accuracy, token_accuracy, retrieval_rate or needle_weight, got '", metric, "'");
  const std::string x_axis = args.get("x");
  DRT_CHECK(x_axis == "length" || x_axis == "distance", "--x must be length or distance, got '", x_axis, "'");
  viz::LinePlot plot;
  plot.log_x = true;
  std::string kind;
  std::map<double, std::string> ticks;
  for (size_t i = 0; i < inputs.size(); ++i) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(inputs[i]));
    } catch (const nlohmann::json::exception& e) {
      throw Error(str_cat(inputs[i], " is not JSON: ", e.what()));
    }
    const std::string k = j.contains("task") && j.contains("results") ? "passkey" : j.contains("buckets") ? "ppl" : "";
    DRT_CHECK(!k.empty(), inputs[i], " is neither a `drt eval passkey` nor a `drt eval ppl` result");
    DRT_CHECK(kind.empty() || kind == k, inputs[i], " is a ", k, " result; the others are ", kind);
    kind = k;
    viz::Series series;
    series.label = labels[i];
    series.points = true;
    if (kind == "passkey") {
      // Mean of the metric over the cells at each x: over depths at a length (every cell
      // has the same number of trials), or over the cells at one distance.
      const std::string x_key = x_axis == "length" ? "length" : "needle_distance";
      std::map<double, std::pair<double, int64_t>> by_x;  // x -> (sum, cells)
      for (const auto& r : j["results"]) {
        if (!r.contains(metric)) continue;
        DRT_CHECK(r.contains(x_key), inputs[i], " has no '", x_key, "' (written by an older drt?)");
        auto& [sum, cells] = by_x[std::round(r[x_key].get<double>())];
        sum += r[metric].get<double>();
        cells += 1;
      }
      DRT_CHECK(!by_x.empty(), inputs[i], " has no '", metric, "' values");
      for (const auto& [x, sc] : by_x) {
        series.x.push_back(x);
        series.y.push_back(100.0 * sc.first / static_cast<double>(sc.second));
        if (x_axis == "length") ticks[x] = format_count(static_cast<int64_t>(x));
      }
    } else {
      for (const auto& b : j["buckets"]) {
        if (b["tokens"].get<int64_t>() == 0) continue;
        const double to = static_cast<double>(b["to"].get<int64_t>());
        series.x.push_back(to);
        series.y.push_back(b["ppl"].get<double>());
        ticks[to] = format_count(b["to"].get<int64_t>());
      }
    }
    plot.series.push_back(series);
  }
  if (kind == "passkey") {
    plot.title = "passkey " + metric + (x_axis == "length" ? " over all depths" : " by the needle's distance");
    plot.x_label = x_axis == "length" ? "context length (tokens)" : "needle to answer (tokens)";
    plot.y_label = metric == "accuracy"         ? "passkeys right (%)"
                   : metric == "token_accuracy" ? "answer symbols right (%)"
                   : metric == "retrieval_rate" ? "needle chunk retrieved for the question (%)"
                                                : "retrieval weight on the needle chunk (%)";
    plot.y_min = 0;
    plot.y_max = 100;
  } else {
    plot.title = "perplexity by position";
    plot.x_label = "position bucket (up to, tokens)";
    plot.y_label = "perplexity";
  }
  if (args.has("title")) plot.title = args.get("title");
  for (const auto& [x, label] : ticks) {
    plot.x_ticks.push_back(x);
    plot.x_tick_labels.push_back(label);
  }
  viz::write_line_plot(args.get("out"), plot);
  std::cout << "wrote " << args.get("out") << "\n";
  return 0;
}

int cmd_eval(int argc, char** argv) {
  const std::string usage = "usage: drt eval ppl|passkey|plot [flags]   (drt eval <what> --help)";
  if (argc < 2) {
    std::cerr << usage << "\n";
    return 2;
  }
  const std::string what = argv[1];
  if (what == "ppl") return eval_ppl(argc, argv);
  if (what == "passkey") return eval_passkey(argc, argv);
  if (what == "plot") return eval_plot(argc, argv);
  if (what == "--help" || what == "-h") {
    std::cout << usage << "\n";
    return 0;
  }
  throw Error(str_cat("unknown evaluation '", what, "' (expected ppl, passkey or plot)"));
}

}  // namespace drt::cli
