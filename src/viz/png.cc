#include "viz/png.h"

#include <zlib.h>

#include <algorithm>

#include "core/error.h"
#include "io/file_util.h"

namespace drt::viz {

Image::Image(int width, int height, uint32_t background) : width(width), height(height) {
  DRT_CHECK(width > 0 && height > 0, "image size must be positive, got ", width, "x", height);
  rgb.resize(static_cast<size_t>(width) * height * 3);
  fill_rect(0, 0, width, height, background);
}

void Image::set(int x, int y, uint8_t r, uint8_t g, uint8_t b) {
  if (!contains(x, y)) return;
  uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
  p[0] = r;
  p[1] = g;
  p[2] = b;
}

void Image::set(int x, int y, uint32_t color) {
  set(x, y, static_cast<uint8_t>(color >> 16), static_cast<uint8_t>(color >> 8), static_cast<uint8_t>(color));
}

uint32_t Image::get(int x, int y) const {
  DRT_CHECK(contains(x, y), "pixel (", x, ", ", y, ") is outside the ", width, "x", height, " image");
  const uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}

void Image::fill_rect(int x, int y, int w, int h, uint32_t color) {
  int x0 = std::max(x, 0), y0 = std::max(y, 0);
  int x1 = std::min(x + w, width), y1 = std::min(y + h, height);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) set(xx, yy, color);
}

namespace {

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

// A chunk is length, type, data, then the CRC-32 of type + data (PNG spec 5.3).
void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  size_t type_at = out.size();
  out.append(type, 4);
  out += data;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + type_at), static_cast<uInt>(4 + data.size()));
  put_u32(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::string encode_png(const Image& image) {
  const int w = image.width, h = image.height;
  DRT_CHECK(w > 0 && h > 0, "cannot encode an empty image (", w, "x", h, ")");
  const size_t row_bytes = static_cast<size_t>(w) * 3;
  DRT_CHECK(image.rgb.size() == row_bytes * h, "image is ", w, "x", h, " but holds ", image.rgb.size(),
            " bytes, expected ", row_bytes * h);

  // Each scanline is prefixed by its filter type; 0 (none) keeps the writer trivial and
  // plots, mostly flat colour, still compress well.
  std::string raw;
  raw.reserve((row_bytes + 1) * h);
  for (int y = 0; y < h; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(&image.rgb[row_bytes * y]), row_bytes);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(&packed[0]), &packed_size,
                     reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9);
  DRT_CHECK(rc == Z_OK, "zlib compress2 failed with code ", rc);
  packed.resize(packed_size);

  std::string ihdr;
  put_u32(ihdr, static_cast<uint32_t>(w));
  put_u32(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // bit depth 8, colour type 2 (RGB), deflate, filter set 0, no interlace

  std::string out("\x89PNG\r\n\x1a\n", 8);
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", packed);
  put_chunk(out, "IEND", "");
  return out;
}

void write_png(const std::string& path, const Image& image) { write_file_atomic(path, encode_png(image)); }

}  // namespace drt::viz
