// Small PNG line plots drawn with OpenCV: training curves and success/precision plots.
#pragma once
#include <string>
#include <vector>

namespace lorat_cli {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

// One panel with axes, ticks, a legend and one line per series. log_y: logarithmic y axis.
// Throws lorat::Error when the file cannot be written.
void write_plot(const std::string& path, const std::string& title, const std::string& x_label, const std::string& y_label,
                const std::vector<Series>& series, bool log_y = false);

}  // namespace lorat_cli
