#include "viz/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/error.h"
#include "viz/font.h"

namespace drt::viz {
namespace {

constexpr uint32_t kBackground = 0xFFFFFF;
constexpr uint32_t kText = 0x222222;
constexpr uint32_t kFrame = 0x555555;
constexpr uint32_t kGrid = 0xE3E3E3;
constexpr uint32_t kMinorGrid = 0xF2F2F2;
constexpr uint32_t kLegendBorder = 0xC8C8C8;
constexpr uint32_t kMissingCell = 0xDDDDDD;

constexpr int kPad = 12;           // outer margin
constexpr int kTitleScale = 2;
constexpr int kLabelScale = 2;     // axis labels
constexpr int kTickScale = 2;      // tick labels and legend
constexpr int kTickLength = 5;
constexpr int kMarkerRadius = 3;

// ---- numbers -------------------------------------------------------------------------

std::string format_fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s(buf);
  if (s == "-0" || s.rfind("-0.", 0) == 0) {
    // "-0.00" reads as a bug in a tick label.
    bool all_zero = s.find_first_not_of("-0.") == std::string::npos;
    if (all_zero) s.erase(0, 1);
  }
  return s;
}

// V with the shortest mantissa that equals it to 6 significant digits and a tidy
// exponent: 1e6, 2.5e-5.
std::string format_exponent(double v) {
  char buf[64];
  for (int precision = 1; precision <= 6; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
    if (std::abs(std::strtod(buf, nullptr) - v) <= std::abs(v) * 1e-6) break;
  }
  std::string s(buf);
  size_t e = s.find('e');
  if (e == std::string::npos) return s;  // inf, nan
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  bool negative = exponent[0] == '-';
  size_t digits = exponent.find_first_not_of("+-0");
  return mantissa + "e" + (negative ? "-" : "") + (digits == std::string::npos ? "0" : exponent.substr(digits));
}

// The shortest plain decimal (up to 6 places) that equals V to 6 significant digits, so
// 100 -> "100" and 0.25 -> "0.25"; very large or small values use an exponent.
std::string format_short(double v) {
  double a = std::abs(v);
  if (!(a == 0 || (a >= 1e-4 && a < 1e9))) return format_exponent(v);
  char buf[64];
  for (int decimals = 0; decimals <= 6; ++decimals) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (std::abs(std::strtod(buf, nullptr) - v) <= a * 1e-6) break;
  }
  return buf;
}

// Tick values of a linear axis share one step; the label shows as many decimals as the
// step needs, and large round values use k / M (steps 0, 10k, 20k, ...).
std::string format_linear_tick(double v, double step, double max_abs) {
  if (std::abs(v) < step * 1e-6) return "0";
  if (max_abs >= 1e9 && step >= 1e8) return format_short(v / 1e9) + "G";
  if (max_abs >= 1e6 && step >= 1e5) return format_short(v / 1e6) + "M";
  if (max_abs >= 1e4 && step >= 1e3) return format_short(v / 1e3) + "k";
  if (max_abs < 1e-2 || max_abs >= 1e9) return format_exponent(v);  // 2e-5, not 0.00002
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return format_fixed(v, decimals);
}

// Log-axis ticks are 1, 2 or 5 times a power of ten: 0.01, 0.5, 20, 1k, 100k, 1M.
std::string format_log_tick(double v) {
  if (v >= 1e9) return format_short(v / 1e9) + "G";
  if (v >= 1e6) return format_short(v / 1e6) + "M";
  if (v >= 1e3) return format_short(v / 1e3) + "k";
  return format_short(v);
}

// The smallest of 1, 2, 5 x 10^k that is >= RAW.
double nice_step(double raw) {
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double r = raw / magnitude;
  double m = r <= 1 + 1e-9 ? 1 : r <= 2 + 1e-9 ? 2 : r <= 5 + 1e-9 ? 5 : 10;
  return m * magnitude;
}

// ---- axes ----------------------------------------------------------------------------

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;              // the axis ends, in data units
  std::vector<double> ticks;          // labelled, with grid lines
  std::vector<std::string> labels;    // one per tick
  std::vector<double> minor;          // grid lines only (log axes)

  double transform(double v) const { return log ? std::log10(v) : v; }
  // 0 at lo, 1 at hi.
  double fraction(double v) const { return (transform(v) - transform(lo)) / (transform(hi) - transform(lo)); }
};

struct Limits {
  double data_min, data_max;  // over the finite points
  std::optional<double> fixed_min, fixed_max;
};

// Moves the ends that were not fixed apart so that lo < hi: needed when the data is one
// value, or lies wholly beyond the one fixed end. (validate() refuses two fixed ends with
// lo >= hi.)
void widen_degenerate(const Limits& lim, bool log, double* lo, double* hi) {
  if (*hi > *lo) return;
  if (log) {
    if (!lim.fixed_min && !lim.fixed_max) {
      *lo /= 2;
      *hi *= 2;
    } else if (!lim.fixed_max) {
      *hi = *lo * 2;
    } else {
      *lo = *hi / 2;
    }
    return;
  }
  double pad = std::max(std::abs(*lo), std::abs(*hi)) * 0.1;
  if (pad == 0) pad = 1;
  if (!lim.fixed_min && !lim.fixed_max) {
    *lo -= pad;
    *hi += pad;
  } else if (!lim.fixed_max) {
    *hi = *lo + pad;
  } else {
    *lo = *hi - pad;
  }
}

Axis linear_axis(const Limits& lim, int target_ticks) {
  Axis a;
  double lo = lim.fixed_min.value_or(lim.data_min), hi = lim.fixed_max.value_or(lim.data_max);
  widen_degenerate(lim, false, &lo, &hi);
  double step = nice_step((hi - lo) / std::max(target_ticks, 2));
  a.lo = lim.fixed_min ? lo : std::floor(lo / step + 1e-9) * step;
  a.hi = lim.fixed_max ? hi : std::ceil(hi / step - 1e-9) * step;
  double max_abs = std::max(std::abs(a.lo), std::abs(a.hi));
  double k0 = std::ceil(a.lo / step - 1e-9), k1 = std::floor(a.hi / step + 1e-9);
  // Counted with an integer: near 1e20 a range of 1e3 has k ~ 1e17, where ++k on a double
  // does nothing. Such an axis (or one whose span overflows) gets no ticks.
  if (!(k1 - k0 >= 0 && k1 - k0 < 1000)) return a;
  for (int i = 0; i <= static_cast<int>(k1 - k0); ++i) {
    double v = (k0 + i) * step;
    a.ticks.push_back(v);
    a.labels.push_back(format_linear_tick(v, step, max_abs));
  }
  return a;
}

Axis log_axis(const Limits& lim, int target_ticks) {
  Axis a;
  a.log = true;
  double lo = lim.fixed_min.value_or(lim.data_min), hi = lim.fixed_max.value_or(lim.data_max);
  widen_degenerate(lim, true, &lo, &hi);
  int d0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int d1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (d1 == d0) ++d1;
  a.lo = lim.fixed_min ? lo : std::pow(10.0, d0);
  a.hi = lim.fixed_max ? hi : std::pow(10.0, d1);
  auto inside = [&](double v) { return v >= a.lo * (1 - 1e-9) && v <= a.hi * (1 + 1e-9); };
  int decades = d1 - d0;
  int stride = std::max(1, (decades + target_ticks - 1) / std::max(target_ticks, 1));
  std::vector<double> multiples = {1};
  if (decades <= 1) multiples = {1, 2, 5};  // within one decade, powers of ten alone give too few ticks
  for (int d = d0; d <= d1; ++d) {
    for (int m = 1; m <= 9; ++m) {
      double v = m * std::pow(10.0, d);
      if (!inside(v)) continue;
      bool labelled = std::find(multiples.begin(), multiples.end(), m) != multiples.end() &&
                      (m != 1 || (d - d0) % stride == 0);
      if (labelled) {
        a.ticks.push_back(v);
        a.labels.push_back(format_log_tick(v));
      } else if (stride == 1) {
        a.minor.push_back(v);
      }
    }
  }
  return a;
}

// Ticks the caller chose (e.g. the measured context lengths); the axis spans them and the
// data with a small margin so that the end points do not sit on the frame.
Axis explicit_axis(const Limits& lim, bool log, const std::vector<double>& ticks,
                   const std::vector<std::string>& labels) {
  Axis a;
  a.log = log;
  double lo = lim.data_min, hi = lim.data_max;
  for (double t : ticks) {
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  if (lim.fixed_min) lo = *lim.fixed_min;
  if (lim.fixed_max) hi = *lim.fixed_max;
  widen_degenerate(lim, log, &lo, &hi);
  double tlo = log ? std::log10(lo) : lo, thi = log ? std::log10(hi) : hi;
  double margin = (thi - tlo) * 0.04;
  if (!lim.fixed_min) tlo -= margin;
  if (!lim.fixed_max) thi += margin;
  a.lo = log ? std::pow(10.0, tlo) : tlo;
  a.hi = log ? std::pow(10.0, thi) : thi;
  for (size_t i = 0; i < ticks.size(); ++i) {
    if (ticks[i] < a.lo || ticks[i] > a.hi) continue;
    a.ticks.push_back(ticks[i]);
    a.labels.push_back(labels.empty() ? (log ? format_log_tick(ticks[i]) : format_short(ticks[i])) : labels[i]);
  }
  return a;
}

// ---- raster --------------------------------------------------------------------------

struct Rect {
  int x0, y0, x1, y1;  // inclusive
  bool contains(int x, int y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
};

// Liang-Barsky: clips the segment to R in place; false when nothing is left. Clipping
// before rasterising keeps a far off-scale point from costing millions of steps.
bool clip_segment(const Rect& r, double* x0, double* y0, double* x1, double* y1) {
  double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {*x0 - r.x0, r.x1 + 0.999 - *x0, *y0 - r.y0, r.y1 + 0.999 - *y0};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    double t = q[i] / p[i];
    if (p[i] < 0) t0 = std::max(t0, t);
    else t1 = std::min(t1, t);
  }
  if (t0 > t1) return false;
  double ox = *x0, oy = *y0;
  *x0 = ox + t0 * dx;
  *y0 = oy + t0 * dy;
  *x1 = ox + t1 * dx;
  *y1 = oy + t1 * dy;
  return true;
}

// Draws into the image and remembers which plot pixels hold data, so the legend can go
// where it hides the least.
struct Canvas {
  Image& image;
  Rect clip;
  std::vector<uint8_t> covered;  // [clip height, clip width]

  Canvas(Image& image, Rect clip)
      : image(image), clip(clip), covered(static_cast<size_t>(clip.x1 - clip.x0 + 1) * (clip.y1 - clip.y0 + 1)) {}

  // Drawing may overhang the clip rectangle by M pixels, so that a line on an axis limit
  // keeps both of its pixels and a marker there its whole dot.
  void plot(int x, int y, uint32_t color, int m = 1) {
    if (x < clip.x0 - m || x > clip.x1 + m || y < clip.y0 - m || y > clip.y1 + m) return;
    image.set(x, y, color);
    if (clip.contains(x, y)) covered[static_cast<size_t>(y - clip.y0) * (clip.x1 - clip.x0 + 1) + (x - clip.x0)] = 1;
  }

  // Bresenham, each step stamping a 2x2 block so the line is 2 px thick and unbroken.
  void line(double fx0, double fy0, double fx1, double fy1, uint32_t color) {
    // Non-finite pixel coordinates (an axis whose span overflows) would make the integer
    // walk below meaningless.
    if (!std::isfinite(fx0) || !std::isfinite(fy0) || !std::isfinite(fx1) || !std::isfinite(fy1)) return;
    if (!clip_segment(clip, &fx0, &fy0, &fx1, &fy1)) return;
    int x0 = static_cast<int>(std::floor(fx0)), y0 = static_cast<int>(std::floor(fy0));
    int x1 = static_cast<int>(std::floor(fx1)), y1 = static_cast<int>(std::floor(fy1));
    int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    while (true) {
      plot(x0, y0, color);
      plot(x0 + 1, y0, color);
      plot(x0, y0 + 1, color);
      plot(x0 + 1, y0 + 1, color);
      if (x0 == x1 && y0 == y1) break;
      int e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  void marker(double fx, double fy, uint32_t color) {
    if (!std::isfinite(fx) || !std::isfinite(fy)) return;
    int cx = static_cast<int>(std::floor(fx)), cy = static_cast<int>(std::floor(fy));
    // Centred on the 2x2 stamp that line() draws for the same point.
    for (int dy = -kMarkerRadius; dy <= kMarkerRadius + 1; ++dy)
      for (int dx = -kMarkerRadius; dx <= kMarkerRadius + 1; ++dx) {
        double ex = dx - 0.5, ey = dy - 0.5;
        if (ex * ex + ey * ey <= (kMarkerRadius + 0.5) * (kMarkerRadius + 0.5))
          plot(cx + dx, cy + dy, color, kMarkerRadius + 1);
      }
  }

  int coverage(int x, int y, int w, int h) const {
    int n = 0;
    for (int yy = std::max(y, clip.y0); yy < std::min(y + h, clip.y1 + 1); ++yy)
      for (int xx = std::max(x, clip.x0); xx < std::min(x + w, clip.x1 + 1); ++xx)
        n += covered[static_cast<size_t>(yy - clip.y0) * (clip.x1 - clip.x0 + 1) + (xx - clip.x0)];
    return n;
  }
};

void draw_rect_outline(Image& image, int x, int y, int w, int h, uint32_t color) {
  image.fill_rect(x, y, w, 1, color);
  image.fill_rect(x, y + h - 1, w, 1, color);
  image.fill_rect(x, y, 1, h, color);
  image.fill_rect(x + w - 1, y, 1, h, color);
}

void draw_text_centered(Image& image, int cx, int y, const std::string& text, uint32_t color, int scale) {
  draw_text(image, cx - text_width(text, scale) / 2, y, text, color, scale);
}

// Titles are set apart from tick labels by weight: the text drawn twice, 1 px apart.
void draw_title(Image& image, int cx, int y, const std::string& text) {
  int x = cx - (text_width(text, kTitleScale) + 1) / 2;
  draw_text(image, x, y, text, kText, kTitleScale);
  draw_text(image, x + 1, y, text, kText, kTitleScale);
}

// Text on a coloured cell stays readable: dark on light colours, white on dark ones.
uint32_t text_color_on(uint32_t background) {
  double r = (background >> 16) & 0xFF, g = (background >> 8) & 0xFF, b = background & 0xFF;
  return 0.299 * r + 0.587 * g + 0.114 * b < 120 ? 0xFFFFFF : kText;
}

// ---- line plot -----------------------------------------------------------------------

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

void validate(const LinePlot& p) {
  DRT_CHECK(p.width >= 200 && p.height >= 150, "line plot size must be at least 200x150, got ", p.width, "x",
            p.height);
  DRT_CHECK(!p.series.empty(), "line plot '", p.title, "' has no series");
  auto check_limit = [&](const std::optional<double>& v, bool log, const char* name) {
    if (!v) return;
    DRT_CHECK(std::isfinite(*v), "line plot '", p.title, "': ", name, " is ", *v);
    DRT_CHECK(!log || *v > 0, "line plot '", p.title, "': ", name, " is ", *v, " but the axis is logarithmic");
  };
  check_limit(p.x_min, p.log_x, "x_min");
  check_limit(p.x_max, p.log_x, "x_max");
  check_limit(p.y_min, p.log_y, "y_min");
  check_limit(p.y_max, p.log_y, "y_max");
  DRT_CHECK(!(p.x_min && p.x_max) || *p.x_min < *p.x_max, "line plot '", p.title, "': x_min ", *p.x_min,
            " is not below x_max ", *p.x_max);
  DRT_CHECK(!(p.y_min && p.y_max) || *p.y_min < *p.y_max, "line plot '", p.title, "': y_min ", *p.y_min,
            " is not below y_max ", *p.y_max);
  DRT_CHECK(p.x_tick_labels.empty() || p.x_tick_labels.size() == p.x_ticks.size(), "line plot '", p.title,
            "' has ", p.x_ticks.size(), " x ticks but ", p.x_tick_labels.size(), " x tick labels");
  for (double t : p.x_ticks)
    DRT_CHECK(usable(t, p.log_x), "line plot '", p.title, "': x tick ", t, " cannot be placed on the ",
              p.log_x ? "logarithmic " : "", "x axis");
  bool any_point = false;
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    std::string name = s.label.empty() ? str_cat("series ", i) : str_cat("series '", s.label, "'");
    DRT_CHECK(!s.x.empty(), "line plot '", p.title, "': ", name, " is empty");
    DRT_CHECK(s.x.size() == s.y.size(), "line plot '", p.title, "': ", name, " has ", s.x.size(), " x values but ",
              s.y.size(), " y values");
    DRT_CHECK(s.color <= 0xFFFFFF, "line plot '", p.title, "': ", name, " has colour 0x", std::hex, s.color,
              ", expected 0xRRGGBB");
    for (size_t j = 0; j < s.x.size(); ++j) {
      DRT_CHECK(!(p.log_x && std::isfinite(s.x[j]) && s.x[j] <= 0), "line plot '", p.title, "': ", name, " has x[",
                j, "] = ", s.x[j], ", which a logarithmic x axis cannot show");
      DRT_CHECK(!(p.log_y && std::isfinite(s.y[j]) && s.y[j] <= 0), "line plot '", p.title, "': ", name, " has y[",
                j, "] = ", s.y[j], ", which a logarithmic y axis cannot show");
      any_point = any_point || (std::isfinite(s.x[j]) && std::isfinite(s.y[j]));
    }
  }
  DRT_CHECK(any_point, "line plot '", p.title, "' has no finite points");
}

Limits data_limits(const LinePlot& p, bool for_x) {
  Limits lim{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
             for_x ? p.x_min : p.y_min, for_x ? p.x_max : p.y_max};
  for (const Series& s : p.series)
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (!std::isfinite(s.x[j]) || !std::isfinite(s.y[j])) continue;
      double v = for_x ? s.x[j] : s.y[j];
      lim.data_min = std::min(lim.data_min, v);
      lim.data_max = std::max(lim.data_max, v);
    }
  return lim;
}

int max_label_width(const Axis& a) {
  int w = 0;
  for (const std::string& s : a.labels) w = std::max(w, text_width(s, kTickScale));
  return w;
}

}  // namespace

uint32_t palette_color(size_t i) {
  // Tableau 10, the matplotlib default cycle: distinct, and readable on white.
  static const uint32_t kPalette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                      0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  return kPalette[i % 10];
}

namespace {

// The legend's size and contents; where it goes is decided after the data is drawn.
struct Legend {
  static constexpr int kSwatch = 24, kGap = 6, kPadding = 7, kInset = 8;
  std::vector<size_t> entries;  // indices of the labelled series
  int width = 0, height = 0;
  int row_height = text_height(kTickScale) + 6;

  explicit Legend(const LinePlot& p) {
    int text_w = 0;
    for (size_t i = 0; i < p.series.size(); ++i) {
      if (p.series[i].label.empty()) continue;
      entries.push_back(i);
      text_w = std::max(text_w, text_width(p.series[i].label, kTickScale));
    }
    width = kPadding + kSwatch + kGap + text_w + kPadding + 1;
    height = kPadding + static_cast<int>(entries.size()) * row_height - 6 + kPadding;
  }
  bool empty() const { return entries.empty(); }

  void draw(Image& image, const LinePlot& p, int bx, int by) const {
    image.fill_rect(bx, by, width, height, kBackground);
    draw_rect_outline(image, bx, by, width, height, kLegendBorder);
    Canvas canvas(image, Rect{bx + 1, by + 1, bx + width - 2, by + height - 2});
    for (size_t k = 0; k < entries.size(); ++k) {
      const Series& s = p.series[entries[k]];
      uint32_t color = s.color != 0 ? s.color : palette_color(entries[k]);
      // The swatch is centred on the cap height (7 of the glyph's 9 rows).
      int ey = by + kPadding + static_cast<int>(k) * row_height, mid = ey + 3 * kTickScale;
      if (s.line) canvas.line(bx + kPadding, mid, bx + kPadding + kSwatch - 2, mid, color);
      if (s.points || !s.line) canvas.marker(bx + kPadding + kSwatch / 2 - 1, mid, color);
      draw_text(image, bx + kPadding + kSwatch + kGap, ey, s.label, kText, kTickScale);
    }
  }
};

enum class LegendPlace {
  kFreeCorner,  // the plot's emptiest corner, but only if no data lies under it
  kAnyCorner,   // the plot's emptiest corner
  kBeside,      // a column right of the plot, which narrows to make room
};

// Draws P into *OUT. Returns false, leaving *OUT unfinished, when PLACE is kFreeCorner
// and every corner would hide data.
bool draw_line_plot(const LinePlot& p, const Legend& legend, LegendPlace place, Image* out) {
  const bool legend_outside = place == LegendPlace::kBeside;
  Image& image = *out;
  image = Image(p.width, p.height, kBackground);

  // Margins: the y axis is built first because its label widths set the left margin, and
  // the left margin sets the width the x axis has for its ticks.
  const int tick_h = text_height(kTickScale);
  int top = kPad + (p.title.empty() ? tick_h / 2 : text_height(kTitleScale) + 10);
  int bottom = kPad + kTickLength + 4 + tick_h + (p.x_label.empty() ? 0 : 8 + text_height(kLabelScale));
  int plot_h = p.height - top - bottom;
  DRT_CHECK(plot_h >= 40, "line plot height ", p.height, " leaves no room for the plot");

  Limits ylim = data_limits(p, false);
  Axis y = p.log_y ? log_axis(ylim, std::max(2, plot_h / 55)) : linear_axis(ylim, std::max(2, plot_h / 55));
  int left = kPad + (p.y_label.empty() ? 0 : text_height(kLabelScale) + 10) + max_label_width(y) + 4 + kTickLength;

  Limits xlim = data_limits(p, true);
  int legend_column = legend_outside ? legend.width + 2 * Legend::kInset : 0;
  int plot_w_guess = p.width - left - kPad - 16 - legend_column;
  DRT_CHECK(plot_w_guess >= 60, "line plot width ", p.width, " leaves no room for the plot");
  Axis x = !p.x_ticks.empty() ? explicit_axis(xlim, p.log_x, p.x_ticks, p.x_tick_labels)
           : p.log_x          ? log_axis(xlim, std::max(2, plot_w_guess / 90))
                              : linear_axis(xlim, std::max(2, plot_w_guess / 90));
  // The last x tick label is centred on the frame's right edge; keep it inside the image.
  int right = kPad + 4;
  if (!x.labels.empty() && x.fraction(x.ticks.back()) > 0.97)
    right = std::max(right, text_width(x.labels.back(), kTickScale) / 2 + 6);
  right = std::max(right, legend_column);
  Rect r{left, top, p.width - right - 1, top + plot_h - 1};

  auto px = [&](double v) { return r.x0 + x.fraction(v) * (r.x1 - r.x0); };
  auto py = [&](double v) { return r.y1 - y.fraction(v) * (r.y1 - r.y0); };

  // Grid first, so that the frame, ticks and data all draw over it.
  for (double v : x.minor) image.fill_rect(static_cast<int>(std::lround(px(v))), r.y0, 1, r.y1 - r.y0 + 1, kMinorGrid);
  for (double v : y.minor) image.fill_rect(r.x0, static_cast<int>(std::lround(py(v))), r.x1 - r.x0 + 1, 1, kMinorGrid);
  for (double v : x.ticks) image.fill_rect(static_cast<int>(std::lround(px(v))), r.y0, 1, r.y1 - r.y0 + 1, kGrid);
  for (double v : y.ticks) image.fill_rect(r.x0, static_cast<int>(std::lround(py(v))), r.x1 - r.x0 + 1, 1, kGrid);
  draw_rect_outline(image, r.x0, r.y0, r.x1 - r.x0 + 1, r.y1 - r.y0 + 1, kFrame);

  for (size_t i = 0; i < y.ticks.size(); ++i) {
    int ty = static_cast<int>(std::lround(py(y.ticks[i])));
    image.fill_rect(r.x0 - kTickLength, ty, kTickLength, 1, kFrame);
    const std::string& s = y.labels[i];
    draw_text(image, r.x0 - kTickLength - 4 - text_width(s, kTickScale), ty - 3 * kTickScale, s, kText, kTickScale);
  }
  // Labels that would run into their neighbour are skipped (dense explicit ticks).
  int last_label_end = std::numeric_limits<int>::min() / 2;
  for (size_t i = 0; i < x.ticks.size(); ++i) {
    int tx = static_cast<int>(std::lround(px(x.ticks[i])));
    image.fill_rect(tx, r.y1 + 1, 1, kTickLength, kFrame);
    const std::string& s = x.labels[i];
    int w = text_width(s, kTickScale), lx = tx - w / 2;
    if (lx <= last_label_end + 6) continue;
    draw_text(image, lx, r.y1 + kTickLength + 4, s, kText, kTickScale);
    last_label_end = lx + w;
  }

  // Data, over the frame: a value on the axis limit stays visible.
  Canvas canvas(image, r);
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    uint32_t color = s.color != 0 ? s.color : palette_color(i);
    bool have_prev = false;
    double prev_x = 0, prev_y = 0;
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (!std::isfinite(s.x[j]) || !std::isfinite(s.y[j])) {
        have_prev = false;  // a gap in the data is a gap in the line
        continue;
      }
      double cx = px(s.x[j]), cy = py(s.y[j]);
      if (have_prev && s.line) canvas.line(prev_x, prev_y, cx, cy, color);
      if (s.points) canvas.marker(cx, cy, color);
      // A lone point between gaps would otherwise not show at all.
      if (!s.points && s.line && !have_prev &&
          (j + 1 >= s.x.size() || !std::isfinite(s.x[j + 1]) || !std::isfinite(s.y[j + 1])))
        canvas.line(cx, cy, cx, cy, color);
      have_prev = true;
      prev_x = cx;
      prev_y = cy;
    }
  }

  if (!legend.empty() && legend_outside) {
    legend.draw(image, p, r.x1 + 1 + Legend::kInset + Legend::kInset / 2, r.y0);
  } else if (!legend.empty()) {
    // The corner that covers the fewest data pixels, counted with a margin so that the
    // legend does not crowd a line passing close by.
    const int inset = Legend::kInset;
    int xs[2] = {r.x1 - inset - legend.width + 1, r.x0 + inset};
    int ys[2] = {r.y0 + inset, r.y1 - inset - legend.height + 1};
    int bx = xs[0], by = ys[0], best = -1;
    for (int yi = 0; yi < 2; ++yi)
      for (int xi = 0; xi < 2; ++xi) {
        int c = canvas.coverage(xs[xi] - inset, ys[yi] - inset, legend.width + 2 * inset, legend.height + 2 * inset);
        if (best < 0 || c < best) {
          best = c;
          bx = xs[xi];
          by = ys[yi];
        }
      }
    if (place == LegendPlace::kFreeCorner && canvas.coverage(bx, by, legend.width, legend.height) > 0) return false;
    legend.draw(image, p, bx, by);
  }

  if (!p.title.empty()) draw_title(image, (r.x0 + r.x1) / 2, kPad, p.title);
  if (!p.x_label.empty())
    draw_text_centered(image, (r.x0 + r.x1) / 2, p.height - kPad - text_height(kLabelScale), p.x_label, kText,
                       kLabelScale);
  if (!p.y_label.empty())
    draw_text_up(image, kPad, (r.y0 + r.y1) / 2 - text_width(p.y_label, kLabelScale) / 2, p.y_label, kText,
                 kLabelScale);
  return true;
}

}  // namespace

Image render_line_plot(const LinePlot& p) {
  validate(p);
  Legend legend(p);
  Image image;
  // Inside the plot when a corner is free of data; otherwise beside it, if that leaves the
  // plot most of the width; otherwise (a very wide legend) in the emptiest corner anyway,
  // since a legend over some data beats no legend.
  if (draw_line_plot(p, legend, LegendPlace::kFreeCorner, &image)) return image;
  bool fits_beside = legend.width + 2 * Legend::kInset <= p.width * 2 / 5 && legend.height <= p.height - 2 * kPad;
  draw_line_plot(p, legend, fits_beside ? LegendPlace::kBeside : LegendPlace::kAnyCorner, &image);
  return image;
}

void write_line_plot(const std::string& path, const LinePlot& plot) { write_png(path, render_line_plot(plot)); }

// ---- heatmap -------------------------------------------------------------------------

uint32_t heatmap_color(double t) {
  // ColorBrewer RdYlGn without its darkest ends, whose G - R would turn back.
  static const uint32_t kStops[] = {0xd73027, 0xf46d43, 0xfdae61, 0xfee08b, 0xffffbf,
                                    0xd9ef8b, 0xa6d96a, 0x66bd63, 0x1a9850};
  constexpr int kLast = 8;
  if (!(t > 0)) t = 0;  // NaN too
  if (t > 1) t = 1;
  double f = t * kLast;
  int i = std::min(static_cast<int>(f), kLast - 1);
  double u = f - i;
  uint32_t out = 0;
  for (int shift = 16; shift >= 0; shift -= 8) {
    double a = (kStops[i] >> shift) & 0xFF, b = (kStops[i + 1] >> shift) & 0xFF;
    out |= static_cast<uint32_t>(std::lround(a + (b - a) * u)) << shift;
  }
  return out;
}

namespace {

std::string format_cell(double v, const std::string& format) {
  if (std::isnan(v)) return "-";
  if (format == "percent") return format_fixed(std::round(v * 100), 0);
  return format_fixed(v, 2);
}

std::string format_scale_label(double v, const std::string& format) {
  if (format == "percent") return format_short(std::round(v * 1000) / 10) + "%";
  return format_fixed(v, 2);
}

void validate(const Heatmap& h) {
  DRT_CHECK(!h.values.empty(), "heatmap '", h.title, "' has no rows");
  size_t cols = h.values[0].size();
  DRT_CHECK(cols > 0, "heatmap '", h.title, "' has an empty row 0");
  for (size_t r = 0; r < h.values.size(); ++r)
    DRT_CHECK(h.values[r].size() == cols, "heatmap '", h.title, "' is ragged: row ", r, " has ", h.values[r].size(),
              " values, row 0 has ", cols);
  DRT_CHECK(h.x_ticks.empty() || h.x_ticks.size() == cols, "heatmap '", h.title, "' has ", cols, " columns but ",
            h.x_ticks.size(), " x ticks");
  DRT_CHECK(h.y_ticks.empty() || h.y_ticks.size() == h.values.size(), "heatmap '", h.title, "' has ",
            h.values.size(), " rows but ", h.y_ticks.size(), " y ticks");
  DRT_CHECK(std::isfinite(h.v_min) && std::isfinite(h.v_max) && h.v_min < h.v_max, "heatmap '", h.title,
            "': colour scale [", h.v_min, ", ", h.v_max, "] must be finite with v_min < v_max");
  DRT_CHECK(h.value_format == "percent" || h.value_format == "fixed2", "heatmap '", h.title,
            "': unknown value_format '", h.value_format, "' (expected percent or fixed2)");
}

}  // namespace

Image render_heatmap(const Heatmap& h) {
  validate(h);
  const int rows = static_cast<int>(h.values.size()), cols = static_cast<int>(h.values[0].size());
  const int tick_h = text_height(kTickScale);

  // Cells are sized to fit their labels and two-digit annotations, then stretched
  // toward a comfortable overall size.
  int max_x_tick = 0, max_y_tick = 0, max_cell_text = 0;
  for (const std::string& s : h.x_ticks) max_x_tick = std::max(max_x_tick, text_width(s, kTickScale));
  for (const std::string& s : h.y_ticks) max_y_tick = std::max(max_y_tick, text_width(s, kTickScale));
  for (const auto& row : h.values)
    for (double v : row) max_cell_text = std::max(max_cell_text, text_width(format_cell(v, h.value_format), 2));
  int cell_w = std::max({40, max_cell_text + 12, std::min(max_x_tick + 10, 90)});
  cell_w = std::max(cell_w, std::min(90, 560 / cols));
  int cell_h = std::max(30, std::min(50, 340 / rows));
  bool rotate_x_ticks = max_x_tick + 12 > cell_w;  // neighbouring labels would touch

  int top = kPad + (h.title.empty() ? 0 : text_height(kTitleScale) + 12);
  int left = kPad + (h.y_label.empty() ? 0 : text_height(kLabelScale) + 10) + max_y_tick + (max_y_tick ? 8 : 0);
  int x_tick_band = h.x_ticks.empty() ? 0 : 6 + (rotate_x_ticks ? max_x_tick : tick_h);
  int grid_w = cols * cell_w, grid_h = rows * cell_h;

  std::vector<std::string> scale_labels;
  std::vector<double> scale_values = {h.v_max, (h.v_min + h.v_max) / 2, h.v_min};
  int scale_label_w = 0;
  for (double v : scale_values) {
    scale_labels.push_back(format_scale_label(v, h.value_format));
    scale_label_w = std::max(scale_label_w, text_width(scale_labels.back(), kTickScale));
  }
  const int bar_gap = 16, bar_w = 16;
  int width = left + grid_w + bar_gap + bar_w + 4 + kTickLength + scale_label_w + kPad;
  int height = top + grid_h + x_tick_band + (h.x_label.empty() ? 0 : 10 + text_height(kLabelScale)) + kPad;
  // A wide title must not be cut off.
  width = std::max(width, text_width(h.title, kTitleScale) + 1 + 2 * kPad);
  Image image(width, height, kBackground);

  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      double v = h.values[r][c];
      uint32_t color = std::isnan(v) ? kMissingCell : heatmap_color((v - h.v_min) / (h.v_max - h.v_min));
      int x0 = left + c * cell_w, y0 = top + r * cell_h;
      // A 1 px white seam between cells keeps neighbouring equal colours countable.
      image.fill_rect(x0, y0, cell_w - 1, cell_h - 1, color);
      if (!h.annotate) continue;
      std::string s = format_cell(v, h.value_format);
      int scale = text_width(s, 2) + 6 <= cell_w && 7 * 2 + 6 <= cell_h ? 2 : 1;
      if (text_width(s, scale) + 4 > cell_w || 7 * scale + 4 > cell_h) continue;  // does not fit: colour only
      // Centre the cap height (7 rows of 9), not the descender box.
      draw_text(image, x0 + (cell_w - 1 - text_width(s, scale)) / 2, y0 + (cell_h - 1 - 7 * scale) / 2, s,
                text_color_on(color), scale);
    }
  }

  for (int r = 0; r < static_cast<int>(h.y_ticks.size()); ++r) {
    const std::string& s = h.y_ticks[r];
    draw_text(image, left - 8 - text_width(s, kTickScale), top + r * cell_h + (cell_h - 1 - 7 * kTickScale) / 2, s,
              kText, kTickScale);
  }
  for (int c = 0; c < static_cast<int>(h.x_ticks.size()); ++c) {
    const std::string& s = h.x_ticks[c];
    int cx = left + c * cell_w + (cell_w - 1) / 2;
    if (rotate_x_ticks)
      draw_text_up(image, cx - tick_h / 2, top + grid_h + 6, s, kText, kTickScale);
    else
      draw_text_centered(image, cx, top + grid_h + 6, s, kText, kTickScale);
  }

  // Colour bar: top is v_max, like the y axis of a plot.
  int bx = left + grid_w + bar_gap, bar_h = grid_h - 1;
  for (int yy = 0; yy < bar_h; ++yy)
    image.fill_rect(bx, top + yy, bar_w, 1, heatmap_color(1.0 - static_cast<double>(yy) / (bar_h - 1)));
  draw_rect_outline(image, bx, top, bar_w, bar_h, kFrame);
  for (size_t i = 0; i < scale_values.size(); ++i) {
    int ty = top + static_cast<int>(std::lround((h.v_max - scale_values[i]) / (h.v_max - h.v_min) * (bar_h - 1)));
    image.fill_rect(bx + bar_w, ty, kTickLength, 1, kFrame);
    int ly = std::clamp(ty - 3 * kTickScale, top, top + bar_h - 7 * kTickScale);
    draw_text(image, bx + bar_w + kTickLength + 4, ly, scale_labels[i], kText, kTickScale);
  }

  if (!h.title.empty()) draw_title(image, width / 2, kPad, h.title);
  if (!h.x_label.empty())
    draw_text_centered(image, left + grid_w / 2, height - kPad - text_height(kLabelScale), h.x_label, kText,
                       kLabelScale);
  if (!h.y_label.empty())
    draw_text_up(image, kPad, top + grid_h / 2 - text_width(h.y_label, kLabelScale) / 2, h.y_label, kText,
                 kLabelScale);
  return image;
}

void write_heatmap(const std::string& path, const Heatmap& heatmap) { write_png(path, render_heatmap(heatmap)); }

}  // namespace drt::viz
