// `drt probe copy`: does a configuration learn to copy through retrieval + GCA?
// `drt probe induction`: can a trained model copy at all?
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apps/drt/commands.h"
#include "config/model_config.h"
#include "core/args.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/threads.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "engine/model_files.h"
#include "io/file_util.h"
#include "model/checkpoint.h"
#include "probe/copy_probe.h"
#include "probe/induction_probe.h"

namespace drt::cli {

namespace {

// "A:B" -> [A, B).
std::pair<int64_t, int64_t> parse_range(const std::string& flag, const std::string& text) {
  const auto colon = text.find(':');
  DRT_CHECK(colon != std::string::npos, "probe copy: --", flag, " must be A:B (chunks A..B-1), got '", text, "'");
  try {
    size_t used = 0;
    const int64_t a = std::stoll(text.substr(0, colon), &used);
    DRT_CHECK(used == colon, "");
    const std::string rest = text.substr(colon + 1);
    const int64_t b = std::stoll(rest, &used);
    DRT_CHECK(used == rest.size(), "");
    return {a, b};
  } catch (const std::exception&) {
    throw Error(str_cat("probe copy: --", flag, " must be A:B (chunks A..B-1), got '", text, "'"));
  }
}

std::vector<int64_t> parse_layers(const std::string& text) {
  std::vector<int64_t> layers;
  for (const std::string& item : split_commas(text)) {
    try {
      size_t used = 0;
      layers.push_back(std::stoll(item, &used));
      DRT_CHECK(used == item.size() && layers.back() >= 1, "");
    } catch (const std::exception&) {
      throw Error(str_cat("probe copy: --decoder-layers must be positive counts like 1,1 (lower, group 1, ...), got '",
                          text, "'"));
    }
  }
  DRT_CHECK(layers.size() >= 2, "probe copy: --decoder-layers needs the lower stack and at least one group, got '",
            text, "'");
  return layers;
}

std::string percent(double x) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * x);
  return buf;
}

std::string digits_line(const CopyProbeEval& e) {
  std::string s;
  for (double a : e.digit_accuracy) s += (s.empty() ? "" : " ") + percent(a);
  return s;
}

int probe_copy(int argc, char** argv) {
  Args args("probe copy",
            "Train a fresh model on the copy probe and report how fast it learns: N chunks of random letters;\n"
            "the needle chunk starts with '#' and random digits, the last chunk with '?' and the same digits;\n"
            "loss on those digits only. Evaluation needles default to chunks beyond the stacked windows, where\n"
            "only retrieval + GCA can carry the answer. See docs/results.md for what it has measured.");
  args.option("config", "FILE|NAME", "model config file or preset", "tiny")
      .option("decoder-layers", "LIST", "override decoder_layers, e.g. 1,1 (lower stack, then one count per group)",
              "1,1")
      .flag("random-offsets",
            "put '#' and '?' (and their digits) at random places in their chunks, not at the starts: no "
            "positional shortcut, the copy must match content")
      .option("aligned-steps", "N",
              "curriculum, with --random-offsets: the first N steps still put them at the chunks' starts", "0")
      .flag("gca-residual", "also add GCA's output to the residual stream (config gca_residual; not the paper's)")
      .option("chunks", "N", "chunks per sample; the question is the last", "8")
      .option("needles", "A:B", "training needles in chunks A..B-1 (default 0:max(1,N-3))")
      .option("eval-needles", "far|A:B", "evaluation needles: far = beyond the stacked windows", "far")
      .option("digits", "N", "answer length", "5")
      .option("steps", "N", "training steps", "2000")
      .option("repeat-steps", "N", "curriculum: the first N steps answer one digit repeated (easy to read)", "0")
      .option("near-steps", "N",
              "curriculum: the first N steps put the needle in the chunk before the question's (in its window)", "0")
      .option("repeat-share", "F", "after them, this share of samples still repeats one digit (keeps retrieval trained)",
              "0")
      .option("batch", "B", "samples per step", "16")
      .option("lr", "X", "AdamW learning rate (constant, no weight decay)", "3e-3")
      .option("eval-every", "N", "evaluate every N steps", "400")
      .option("eval-samples", "N", "evaluation samples", "64")
      .option("seed", "N", "initialisation and data seed", "3")
      .option("out", "FILE", "write the results as JSON");
  if (!args.parse(argc, argv, 2)) return 0;
  ModelConfig c = ModelConfig::preset_or_file(args.get("config"));
  c.decoder_layers = parse_layers(args.get("decoder-layers"));
  if (args.get_flag("gca-residual")) c.gca_residual = true;
  c.validate();
  DRT_CHECK(c.retrieval, "probe copy: the config has retrieval off; the probe measures copying through GCA");

  CopyProbeOptions o;
  o.chunks = args.get_int("chunks");
  DRT_CHECK(o.chunks >= 2, "probe copy: --chunks must be at least 2, got ", o.chunks);
  o.needle_end = std::max<int64_t>(1, o.chunks - 3);
  if (auto r = args.get_optional("needles")) std::tie(o.needle_begin, o.needle_end) = parse_range("needles", *r);
  const std::string eval_needles = args.get("eval-needles");
  if (eval_needles == "far") {
    o.eval_needle_end = far_needle_end(c, o.chunks);
    DRT_CHECK(o.eval_needle_end > 0, "probe copy: no chunk of ", o.chunks, " lies beyond the stacked windows (",
              "W = ", c.slide_window, "); use more --chunks or give --eval-needles A:B");
  } else {
    std::tie(o.eval_needle_begin, o.eval_needle_end) = parse_range("eval-needles", eval_needles);
  }
  o.digits = args.get_int("digits");
  o.steps = args.get_int("steps");
  o.repeat_steps = args.get_int("repeat-steps");
  o.near_steps = args.get_int("near-steps");
  o.random_offsets = args.get_flag("random-offsets");
  o.aligned_steps = args.get_int("aligned-steps");
  o.repeat_share = args.get_double("repeat-share");
  o.batch = args.get_int("batch");
  o.lr = args.get_double("lr");
  o.eval_every = args.get_int("eval-every");
  o.eval_samples = args.get_int("eval-samples");
  o.seed = static_cast<uint64_t>(args.get_int("seed"));
  validate_copy_probe(o, c);
  const auto out = args.get_optional("out");

  std::cout << "copy probe: " << o.chunks << " chunks of S = " << c.enc_chunk_size << ", W = " << c.slide_window
            << ", K = " << c.chunk_topk << ", decoder layers " << args.get("decoder-layers")
            << (c.gca_residual ? ", GCA also into the residual stream" : ", GCA into the MLP only (as the paper)")
            << "\n  training needles in chunks " << o.needle_begin << ".." << o.needle_end - 1
            << ", evaluation needles in " << o.eval_needle_begin << ".." << o.eval_needle_end - 1
            << " (beyond the stacked windows: chunks < " << far_needle_end(c, o.chunks) << "); " << o.digits
            << " digits, chance: loss 2.303, 10% per digit\n";
  auto evals = run_copy_probe(c, o, [&](const CopyProbeEval& e) {
    const double eta = e.seconds / static_cast<double>(e.step) * static_cast<double>(o.steps - e.step);
    std::cout << "step " << e.step << "/" << o.steps << (e.step <= o.repeat_steps ? " (repeat)" : "")
              << (e.step <= o.near_steps ? " (near)" : "") << (e.step <= o.aligned_steps ? " (aligned)" : "")
              << "  answer loss " << e.answer_loss << "  digits right [" << digits_line(e) << "]  answers right "
              << percent(e.answers_right) << "  retrieval top-1 " << percent(e.retrieval_top1) << "  ("
              << format_duration(e.seconds) << ", ETA " << format_duration(eta) << ")" << std::endl;
  });

  std::cout << "\n| step | answer loss | digits right | answers right | retrieval top-1 |\n|---|---|---|---|---|\n";
  for (const auto& e : evals)
    std::cout << "| " << e.step << " | " << e.answer_loss << " | " << digits_line(e) << " | " << percent(e.answers_right)
              << " | " << percent(e.retrieval_top1) << " |\n";
  if (out) {
    nlohmann::json j;
    j["config"] = c.to_json();
    j["options"] = to_json(o);
    j["far_needle_end"] = far_needle_end(c, o.chunks);
    for (const auto& e : evals) j["evals"].push_back(to_json(e));
    write_file_atomic(*out, j.dump(2) + "\n");
    std::cout << "wrote " << *out << "\n";
  }
  return 0;
}

int probe_induction(int argc, char** argv) {
  Args args("probe induction",
            "Can this trained model copy? Writes random strings of letters (or digits) twice and compares the\n"
            "model's loss on the second copy with the first. A model with an induction head predicts the second\n"
            "copy almost perfectly; one without does no better than on the first, and cannot answer a passkey\n"
            "either, whatever its retrieval does (docs/results.md). With --text the strings are passages of a\n"
            "text: beyond the windows' reach (--length > layers x W) only retrieval can copy them.");
  args.required("model", "DIR", "model directory")
      .option("alphabet", "letters|digits", "the symbols of the strings (one token each)", "letters")
      .option("text", "kjv|brown|FILE", "passages of this text instead of random symbols")
      .option("length", "N", "symbols (with --text: tokens) per copy", "200")
      .option("trials", "N", "random strings", "8")
      .option("seed", "N", "seed of the strings", "1")
      .option("threads", "N", "intra-op threads (default: $DRT_THREADS or all cores)", "0")
      .option("out", "FILE", "write the result as JSON");
  if (!args.parse(argc, argv, 2)) return 0;
  set_threads(static_cast<int>(args.get_int("threads")));
  InductionProbeOptions o;
  o.alphabet = args.get("alphabet");
  o.length = args.get_int("length");
  o.trials = args.get_int("trials");
  o.seed = static_cast<uint64_t>(args.get_int("seed"));
  const std::string dir = args.get("model");
  DrtLM model = load_model(dir);
  auto tokenizer = load_model_tokenizer(dir, model->config);
  const auto text_name = args.get_optional("text");
  if (text_name) o.text = tokenizer->encode(named_text(*text_name));
  const std::string what = text_name ? "tokens of " + *text_name : o.alphabet;
  const InductionProbeResult r = run_induction_probe(model, *tokenizer, o);
  const double gain = r.first_loss - r.second_loss;
  // "partly": the second copy gains half of what a perfect copy would (chance's loss for
  // random symbols; the first copy's loss for text, which a model partly predicts anyway).
  const double full_gain = text_name ? r.first_loss : r.chance_loss;
  const char* verdict = r.second_accuracy >= 0.9 ? "yes" : gain >= 0.5 * full_gain ? "partly" : "no";
  std::printf("induction probe: %s, %lld strings of %lld %s, each written twice\n", dir.c_str(),
              static_cast<long long>(o.trials), static_cast<long long>(o.length), what.c_str());
  std::printf("| copy | loss (nats/%s) | right |\n|---|---|---|\n", text_name ? "token" : "symbol");
  std::printf("| first | %.3f | %s |\n| second | %.3f | %s |\n", r.first_loss, percent(r.first_accuracy).c_str(),
              r.second_loss, percent(r.second_accuracy).c_str());
  if (text_name) std::printf("copies: %s\n", verdict);
  else std::printf("chance: loss %.3f, %s right.  copies: %s\n", r.chance_loss, percent(1.0 / r.symbols).c_str(), verdict);
  if (auto out = args.get_optional("out")) {
    nlohmann::json j = to_json(r);
    j["model"] = dir;
    j["alphabet"] = o.alphabet;
    if (text_name) j["text"] = *text_name;
    j["length"] = o.length;
    j["trials"] = o.trials;
    j["copies"] = verdict;
    write_file_atomic(*out, j.dump(2) + "\n");
    std::printf("wrote %s\n", out->c_str());
  }
  return 0;
}

}  // namespace

int cmd_probe(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << "usage: drt probe copy|induction [flags]   (drt probe copy --help, drt probe induction --help)\n";
    return argc < 2 ? 2 : 0;
  }
  const std::string what = argv[1];
  if (what == "copy") return probe_copy(argc, argv);
  if (what == "induction") return probe_induction(argc, argv);
  throw Error(str_cat("unknown probe '", what, "' (known: copy, induction)"));
}

}  // namespace drt::cli
