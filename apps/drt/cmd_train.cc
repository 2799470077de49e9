#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>

#include "apps/drt/commands.h"
#include "core/args.h"
#include "core/blas.h"
#include "core/device.h"
#include "core/error.h"
#include "core/progress.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace drt::cli {

namespace {
// --procs N: re-run this same command line as ranks 1..N-1 in child processes; this
// process is rank 0.
std::vector<pid_t> spawn_local_ranks(int argc, char** argv, int procs, const std::string& master) {
  std::vector<pid_t> children;
  for (int r = 1; r < procs; ++r) {
    std::vector<std::string> words = {"/proc/self/exe", "train"};
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--procs") {
        ++i;
        continue;
      }
      if (a.rfind("--procs=", 0) == 0) continue;
      words.push_back(a);
    }
    for (const std::string& w : {std::string("--world-size"), std::to_string(procs), std::string("--rank"),
                                 std::to_string(r), std::string("--master"), master, std::string("--quiet")})
      words.push_back(w);
    pid_t pid = fork();
    DRT_CHECK(pid >= 0, "train: fork failed for rank ", r);
    if (pid == 0) {
      std::vector<char*> cargv;
      for (auto& w : words) cargv.push_back(w.data());
      cargv.push_back(nullptr);
      execv("/proc/self/exe", cargv.data());
      _exit(127);
    }
    children.push_back(pid);
  }
  return children;
}
}  // namespace

int cmd_train(int argc, char** argv) {
  Args args("train",
            "Train a DRT (or, with \"retrieval\": false in its config, the sliding-window baseline) on a\n"
            "corpus prepared by `drt prepare`. OUT becomes a model directory (config.json, model.safetensors,\n"
            "tokenizer) with train_log.jsonl, loss.png and the resumable state (optimizer.pt,\n"
            "train_state.json): running the same command again continues from the last checkpoint.");
  args.option("model", "DIR", "start from this model directory")
      .option("config", "FILE|NAME", "or start from a random model of this config (preset: tiny, small)")
      .required("data", "DIR", "prepared corpus (drt prepare --out DIR)")
      .required("out", "DIR", "output model directory (resumed if it holds a training state)")
      .option("steps", "N", "optimizer steps", "100")
      .option("seq-len", "T[,T2,...]",
              "tokens per sample (a multiple of the chunk size); several: each step draws one of them", "1024")
      .option("batch", "B", "samples per rank per micro-step", "4")
      .option("accum", "N", "micro-steps (gradient accumulation) per optimizer step", "1")
      .option("task", "TASK",
              "lm | repeat (text whose second half repeats its first) | passkey | multikey | multihop | copy | "
              "copy-letters | mix:lm=0.5,copy-letters=0.2,passkey=0.3",
              "lm")
      .option("loss-weighting", "sample|token",
              "sample: each sample's mean over its scored tokens, averaged over samples (a mix's fractions "
              "are gradient shares); token: one mean over every scored token",
              "sample")
      .option("copy-length", "N", "copy tasks: symbols in the copied string (0 = chunk size - 1, a whole chunk)", "0")
      .option("needle-depths", "LO,HI",
              "synthetic tasks: needle depths are drawn uniformly from [LO, HI] (0 = the haystack's start, 1 = "
              "just before the question); a low range keeps needles beyond the windows' reach",
              "0,1")
      .option("near-needles", "P",
              "synthetic tasks: this fraction of samples puts its needle within the sliding window before "
              "the question, at every --seq-len (the window's copy; a depth range reaches it only at short T)",
              "0")
      .option("split-needles", "P",
              "synthetic tasks: this fraction of samples cuts its needle with a chunk boundary at a drawn token "
              "of its cue (\"The passkey is: \") or its answer's first, so retrieval hands GCA the digits with "
              "part of the cue or none (1 sample in S otherwise)",
              "0")
      .option("first-token-needles", "P",
              "synthetic tasks: this fraction of samples puts its needle at the haystack's first token, which "
              "a depth range shares with its neighbours (0 = the range alone); with --near-needles, "
              "shares of the same samples (together at most 1)",
              "0")
      .option("aligned-steps", "N",
              "curriculum for synthetic tasks: in the first N steps the needle and the question each start a "
              "chunk (GCA learns to read a chunk there first, then to match content); evaluation is never aligned",
              "0")
      .option("decoys", "N",
              "passkey: N decoy needles per sample, \"|The <word> is: <digits>|\" with other digits, so that "
              "retrieval learns the word \"passkey\" rather than \"digits after is:\"",
              "0")
      .option("lr", "X", "peak learning rate", "2e-3")
      .option("min-lr", "X", "final learning rate of the cosine decay", "4e-4")
      .option("warmup", "N", "linear warm-up steps (default 2% of --steps)", "-1")
      .option("clip", "X", "gradient-norm clipping (0 = off)", "1.0")
      .option("weight-decay", "X", "AdamW weight decay", "0.001")
      .option("eval-every", "N", "evaluate on the valid split every N steps (0 = at the end only)", "0")
      .option("eval-batches", "N", "batches per evaluation", "4")
      .option("save-every", "N", "checkpoint every N steps (0 = at the end only)", "0")
      .option("log-every", "N", "write a train_log.jsonl line every N steps", "1")
      .option("seed", "N", "seed of initialisation, data order and Gumbel noise", "0")
      .option("threads", "N", "intra-op threads (default: $DRT_THREADS or all cores)", "0")
      .option("kernels", "fused|reference", "attention implementation (default: $DRT_KERNELS or fused)")
      .option("device", "cpu|cuda|cuda:N|auto",
              "where to train (cuda: rank r takes GPU r mod GPUs; auto: cuda if there is one)", "cpu")
      .option("backend", "auto|gloo|nccl", "all-reduce transport of --world-size/--procs runs (auto: NCCL on CUDA)",
              "auto")
      .option("world-size", "N", "data-parallel ranks in all", "1")
      .option("rank", "R", "this process's rank", "0")
      .option("master", "HOST:PORT", "rendezvous address of rank 0", "127.0.0.1:29500")
      .option("procs", "N", "start N local ranks (this process is rank 0)", "1")
      .option("time-limit", "SECONDS", "stop after this long, saving a checkpoint (run again to continue)", "0")
      .option("stop-after", "N", "stop after N steps of this run, as if interrupted (for testing resume)", "0")
      .flag("quiet", "no progress line");
  if (!args.parse(argc, argv)) return 0;
  TrainOptions o;
  o.model_dir = args.get_optional("model").value_or("");
  o.config = args.get_optional("config").value_or("");
  o.data_dir = args.get("data");
  o.out_dir = args.get("out");
  o.steps = args.get_int("steps");
  o.seq_lens = args.get_ints("seq-len");  // train() takes seq_len as their longest
  o.batch = args.get_int("batch");
  o.accum = args.get_int("accum");
  o.task = args.get("task");
  o.loss_weighting = args.get("loss-weighting");
  o.copy_length = args.get_int("copy-length");
  {
    const std::vector<double> depths = args.get_doubles("needle-depths");
    DRT_CHECK(depths.size() == 2, "--needle-depths takes two fractions LO,HI, got '", args.get("needle-depths"), "'");
    o.needle_depth_lo = depths[0];
    o.needle_depth_hi = depths[1];
  }
  o.near_needles = args.get_double("near-needles");
  o.split_needles = args.get_double("split-needles");
  o.first_token_needles = args.get_double("first-token-needles");
  o.aligned_steps = args.get_int("aligned-steps");
  o.decoys = args.get_int("decoys");
  o.lr = args.get_double("lr");
  o.min_lr = args.get_double("min-lr");
  o.warmup = args.get_int("warmup");
  o.clip = args.get_double("clip");
  o.weight_decay = args.get_double("weight-decay");
  o.eval_every = args.get_int("eval-every");
  o.eval_batches = args.get_int("eval-batches");
  o.save_every = args.get_int("save-every");
  o.log_every = args.get_int("log-every");
  o.seed = static_cast<uint64_t>(args.get_int("seed"));
  o.threads = static_cast<int>(args.get_int("threads"));
  o.kernels = args.get_optional("kernels").value_or("");
  o.device = args.get("device");
  o.backend = args.get("backend");
  o.world_size = static_cast<int>(args.get_int("world-size"));
  o.rank = static_cast<int>(args.get_int("rank"));
  o.master = args.get("master");
  o.stop_after = args.get_int("stop-after");
  o.time_limit = args.get_double("time-limit");
  DRT_CHECK(o.time_limit >= 0, "train: --time-limit must be >= 0 seconds, got ", o.time_limit);
  o.quiet = args.get_flag("quiet");
  const int procs = static_cast<int>(args.get_int("procs"));
  DRT_CHECK(procs >= 1, "train: --procs must be >= 1, got ", procs);
  std::vector<pid_t> children;
  if (procs > 1) {
    DRT_CHECK(o.world_size == 1, "train: give either --procs or --world-size, not both");
    if (o.backend != "gloo" && Distributed::has_nccl() && parse_device(o.device).is_cuda())
      DRT_CHECK(procs <= cuda_device_count(), "train: --procs ", procs, " on ", cuda_device_count(),
                " GPU(s): NCCL needs one GPU per rank (use fewer ranks, or --backend gloo where this drt has it)");
    o.world_size = procs;
    o.rank = 0;
    if (!args.get_optional("master") || args.get("master") == "127.0.0.1:29500") {
      // A free-ish port per run so that concurrent runs do not collide.
      o.master = "127.0.0.1:" + std::to_string(20000 + std::random_device{}() % 20000);
    }
    children = spawn_local_ranks(argc, argv, procs, o.master);
  }
  TrainResult r;
  try {
    r = train(o);
  } catch (...) {
    for (pid_t c : children) kill(c, SIGTERM);
    throw;
  }
  int failed = 0;
  for (pid_t c : children) {
    int status = 0;
    waitpid(c, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  DRT_CHECK(failed == 0, "train: ", failed, " of the ", procs - 1, " other ranks failed");
  if (o.rank == 0 && !r.log.empty()) {
    double tps = 0;
    for (const auto& e : r.log) tps += e.tokens_per_s / static_cast<double>(r.log.size());
    std::printf("\n== drt train: %s ==\n", o.out_dir.c_str());
    std::printf("  steps             %lld -> %lld of %lld (%s)\n", (long long)r.start_step, (long long)r.end_step,
                (long long)o.steps, format_duration(r.seconds).c_str());
    std::printf("  train loss        %.4f -> %.4f nats/token\n", r.log.front().loss, r.log.back().loss);
    if (r.final_eval_loss >= 0)
      std::printf("  eval loss         %.4f nats/token (perplexity %.2f)\n", r.final_eval_loss,
                  std::exp(r.final_eval_loss));
    const std::string blas = o.device.rfind("cuda", 0) == 0 ? "" : blas_core();  // see core/blas.h
    std::printf("  throughput        %.0f tokens/s on %s%s\n", tps, o.device.c_str(),
                blas.empty() ? "" : (" (OpenBLAS " + blas + " kernels)").c_str());
    const std::string note = blas.empty() ? "" : blas_core_note();
    if (!note.empty()) std::printf("  note              %s\n", note.c_str());
    std::printf("  files             config.json model.safetensors train_log.jsonl loss.png\n");
  }
  return 0;
}

}  // namespace drt::cli
