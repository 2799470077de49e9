#include "core/args.h"

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/error.h"

namespace drt {

Args::Args(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

Args& Args::flag(const std::string& name, const std::string& help) {
  Spec s;
  s.name = name;
  s.help = help;
  s.is_flag = true;
  specs_.push_back(s);
  return *this;
}

Args& Args::option(const std::string& name, const std::string& metavar, const std::string& help,
                   std::optional<std::string> default_value) {
  Spec s;
  s.name = name;
  s.metavar = metavar;
  s.help = help;
  s.default_value = std::move(default_value);
  specs_.push_back(s);
  return *this;
}

Args& Args::required(const std::string& name, const std::string& metavar, const std::string& help) {
  option(name, metavar, help);
  specs_.back().is_required = true;
  return *this;
}

Args& Args::multi(const std::string& name, const std::string& metavar, const std::string& help) {
  option(name, metavar, help);
  specs_.back().is_multi = true;
  return *this;
}

const Args::Spec& Args::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  throw Error(str_cat("internal: flag --", name, " was not declared for '", command_, "'"));
}

bool Args::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << help();
      return false;
    }
    DRT_CHECK(a.rfind("--", 0) == 0, command_, ": unexpected argument '", a, "' (see --help)");
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Spec* s = nullptr;
    for (const auto& sp : specs_)
      if (sp.name == name) s = &sp;
    DRT_CHECK(s != nullptr, command_, ": unknown flag --", name, " (see --help)");
    if (s->is_flag) {
      DRT_CHECK(!inline_value, command_, ": flag --", name, " takes no value");
      values_[name] = {"1"};
      continue;
    }
    if (inline_value) {
      values_[name].push_back(*inline_value);
      continue;
    }
    DRT_CHECK(i + 1 < argc, command_, ": --", name, " needs a value (", s->metavar, ")");
    if (!s->is_multi) {
      values_[name] = {argv[++i]};
    } else {
      while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) values_[name].push_back(argv[++i]);
    }
  }
  for (const auto& s : specs_)
    DRT_CHECK(!s.is_required || values_.count(s.name), command_, ": --", s.name, " ", s.metavar,
              " is required (see --help)");
  return true;
}

bool Args::has(const std::string& name) const {
  return values_.count(name) > 0 || spec(name).default_value.has_value();
}

bool Args::get_flag(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::optional<std::string> Args::get_optional(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.empty()) return it->second.back();
  return spec(name).default_value;
}

std::string Args::get(const std::string& name) const {
  auto v = get_optional(name);
  DRT_CHECK(v.has_value(), command_, ": --", name, " is required here");
  return *v;
}

int64_t Args::get_int(const std::string& name) const {
  std::string v = get(name);
  try {
    return parse_count(v);
  } catch (const Error&) {
    throw Error(str_cat(command_, ": --", name, " expects an integer, got '", v, "'"));
  }
}

std::vector<int64_t> Args::get_ints(const std::string& name) const {
  std::vector<int64_t> values;
  for (const auto& part : split_commas(get(name))) {
    try {
      values.push_back(parse_count(part));
    } catch (const Error&) {
      throw Error(str_cat(command_, ": --", name, " expects integers like 1008 or 189,252,630, got '", part, "'"));
    }
  }
  DRT_CHECK(!values.empty(), command_, ": --", name, " is empty");
  return values;
}

std::vector<double> Args::get_doubles(const std::string& name) const {
  std::vector<double> values;
  for (const auto& part : split_commas(get(name))) {
    char* end = nullptr;
    const double d = std::strtod(part.c_str(), &end);
    DRT_CHECK(!part.empty() && end && *end == '\0', command_, ": --", name,
              " expects numbers like 0.5 or 0.1,0.9, got '", part, "'");
    values.push_back(d);
  }
  DRT_CHECK(!values.empty(), command_, ": --", name, " is empty");
  return values;
}

double Args::get_double(const std::string& name) const {
  std::string v = get(name);
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  DRT_CHECK(!v.empty() && end && *end == '\0', command_, ": --", name, " expects a number, got '", v, "'");
  return d;
}

std::vector<std::string> Args::get_multi(const std::string& name) const {
  spec(name);
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::help() const {
  std::ostringstream os;
  os << "usage: drt " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const auto& s : specs_) {
    std::string left = "  --" + s.name + (s.metavar.empty() ? "" : " " + s.metavar);
    os << left;
    if (left.size() < 28) os << std::string(28 - left.size(), ' ');
    else os << "\n" << std::string(28, ' ');
    os << s.help;
    if (s.is_required) os << " (required)";
    if (s.default_value) os << " [default: " << *s.default_value << "]";
    os << "\n";
  }
  os << "  --help                    show this help\n";
  return os.str();
}

int64_t parse_count(const std::string& text) {
  DRT_CHECK(!text.empty(), "expected a count, got an empty string");
  std::string t = text;
  int64_t mult = 1;
  char last = t.back();
  if (last == 'k' || last == 'K') mult = 1024, t.pop_back();
  else if (last == 'm' || last == 'M') mult = 1024 * 1024, t.pop_back();
  else if (last == 'g' || last == 'G') mult = int64_t(1024) * 1024 * 1024, t.pop_back();
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, 10);
  DRT_CHECK(!t.empty() && end && *end == '\0', "expected a count like 2048, 4k or 1m, got '", text, "'");
  return static_cast<int64_t>(v) * mult;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find(',', start);
    const std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!part.empty()) out.push_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace drt
