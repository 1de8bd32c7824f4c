// Command-line options of the lorat subcommands: "--name value" pairs, flags, and positionals.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace lorat_cli {

class Args {
 public:
  // flags: options that take no value. Throws lorat::Error on an unknown option or a missing value.
  Args(int argc, char** argv, const std::set<std::string>& valued, const std::set<std::string>& flags);
  bool has(const std::string& name) const { return values_.count(name) || flags_.count(name); }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::string require(const std::string& name) const;
  int get_int(const std::string& name, int fallback, int min, int max) const;
  double get_double(const std::string& name, double fallback) const;  // a finite number
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

}  // namespace lorat_cli
