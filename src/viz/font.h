// A built-in bitmap font for plot text: printable ASCII 32..126 on a 5x9 grid (7 rows
// above the baseline, 2 for descenders), proportionally spaced except the digits, which
// keep one width so that columns of numbers line up. Other bytes draw as '?'.
#pragma once
#include <cstdint>
#include <string>

#include "viz/png.h"

namespace drt::viz {

// Height of a line of text in pixels, descenders included: 9 * scale.
int text_height(int scale = 1);
// Width in pixels of TEXT drawn at SCALE (no trailing gap).
int text_width(const std::string& text, int scale = 1);

// Draws TEXT with its top-left corner at (x, y). Each font pixel becomes a scale x scale
// block; even scales are first doubled with Scale2x (EPX) so diagonals and curves stay
// smooth instead of turning into staircases.
void draw_text(Image& image, int x, int y, const std::string& text, uint32_t color, int scale = 1);

// TEXT rotated 90 degrees counter-clockwise (it reads bottom to top, as a y-axis label
// does). (x, y) is the top-left corner of its box, text_height wide and text_width tall.
void draw_text_up(Image& image, int x, int y, const std::string& text, uint32_t color, int scale = 1);

}  // namespace drt::viz
