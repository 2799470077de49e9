// A small command-line flag parser for the `drt` subcommands: every flag is declared
// with its help text, so `--help` is generated and an unknown or malformed flag is an
// error naming it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace drt {

class Args {
 public:
  Args(std::string command, std::string summary);

  // Declarations. `metavar` is shown in --help ("FILE", "N"); empty for boolean flags.
  Args& flag(const std::string& name, const std::string& help);  // boolean, default false
  Args& option(const std::string& name, const std::string& metavar, const std::string& help,
               std::optional<std::string> default_value = std::nullopt);
  Args& required(const std::string& name, const std::string& metavar, const std::string& help);
  // A list option may be given several times or with several values after it.
  Args& multi(const std::string& name, const std::string& metavar, const std::string& help);

  // Parses argv[first..argc). Returns false when --help was asked (help already printed).
  // Throws drt::Error on unknown flags, missing values and missing required options.
  bool parse(int argc, char** argv, int first = 1);

  bool has(const std::string& name) const;
  bool get_flag(const std::string& name) const;
  std::string get(const std::string& name) const;
  std::optional<std::string> get_optional(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  // A comma-separated list of counts ("1008", "189,252,630", "4k,1m"), at least one.
  std::vector<int64_t> get_ints(const std::string& name) const;
  double get_double(const std::string& name) const;
  // A comma-separated list of numbers ("0.1,0.5"), at least one.
  std::vector<double> get_doubles(const std::string& name) const;
  std::vector<std::string> get_multi(const std::string& name) const;
  std::string help() const;

 private:
  struct Spec {
    std::string name, metavar, help;
    std::optional<std::string> default_value;
    bool is_flag = false, is_required = false, is_multi = false;
  };
  const Spec& spec(const std::string& name) const;
  std::string command_, summary_;
  std::vector<Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
};

// "a,b,,c" -> {"a", "b", "c"}: the parts of a comma-separated list flag, empty ones dropped.
std::vector<std::string> split_commas(const std::string& text);

// Parses "4k", "64K", "1m", "16M", "2048" into a count (k = 1024, m = 1024*1024).
int64_t parse_count(const std::string& text);

}  // namespace drt
