// Line plots and heatmaps written as PNG files, for pictures a person would rather look
// at than read: training loss curves (step vs loss, train and eval series), accuracy vs
// context length (log x), passkey accuracy by depth x context length.
//
// Everything is drawn with plain code (viz/png.h, viz/font.h); no LibTorch, no image
// library. Bad input throws drt::Error naming the offending series, point or row.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "viz/png.h"

namespace drt::viz {

struct Series {
  std::string label;  // shown in the legend; a plot whose labels are all empty has no legend
  std::vector<double> x, y;  // same length; non-finite points are skipped and break the line
  uint32_t color = 0;        // 0xRRGGBB; 0 = the palette colour for this series' index
  bool points = false;       // a marker at every point
  bool line = true;          // segments between consecutive finite points
};

struct LinePlot {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;  // every finite value on a log axis must be > 0
  std::vector<Series> series;
  int width = 800, height = 500;
  // Fixed axis limits; by default each axis spans its data, widened to round tick values.
  std::optional<double> x_min, x_max, y_min, y_max;
  // Fixed x tick positions (e.g. the context lengths that were measured) and, optionally,
  // their labels (same length); empty = automatic ticks.
  std::vector<double> x_ticks;
  std::vector<std::string> x_tick_labels;
};

// Renders the plot: white background, 1-2-5 ticks (powers of 10 on log axes) with light
// grey grid lines, 2 px lines, a legend in the corner with the least data under it, and
// the title.
Image render_line_plot(const LinePlot& plot);
void write_line_plot(const std::string& path, const LinePlot& plot);

struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> x_ticks, y_ticks;  // one per column / row, or empty
  std::vector<std::vector<double>> values;    // [rows = y][cols = x]; row 0 is drawn at the top
  double v_min = 0, v_max = 1;                // the ends of the colour scale; values are clamped
  bool annotate = true;                       // the value in each cell, where it fits
  // "percent": round(100 v) (values are fractions, 0.97 -> "97"; the colour bar shows
  // "%"); "fixed2": two decimals. A NaN cell (not measured) is grey and reads "-".
  std::string value_format = "percent";
};

Image render_heatmap(const Heatmap& heatmap);
void write_heatmap(const std::string& path, const Heatmap& heatmap);

// The heatmap colour scale at T in [0, 1] (clamped): red (low) -> yellow -> green (high),
// after ColorBrewer's RdYlGn. G - R rises strictly with T.
uint32_t heatmap_color(double t);

// Palette colour I (cycling through 10 colours), used for series with color == 0.
uint32_t palette_color(size_t i);

}  // namespace drt::viz
