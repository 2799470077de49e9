// The CPU attention kernels, written once and compiled once per instruction set: an
// attention_<isa>.cc defines DRT_ISA_NS (the namespace) and DRT_VEC_BYTES (the vector
// width) and includes this file. Vectors are GCC/Clang vector extensions, so the same
// source becomes SSE, AVX2 or AVX-512 code; the compiler flags of the including file
// decide which.
//
// Everything here has internal linkage (an anonymous namespace inside the ISA namespace)
// and calls only C library functions (::expf, ::logf, ::aligned_alloc), so no function
// compiled with AVX-512 can be picked by the linker for the portable build.
//
// Structure (FlashAttention-2 on a CPU): a task is a block of queries of one (batch,
// head); its keys are visited in blocks; the logits of a (query block, key block) pair
// live only in a small per-thread tile. All products are one register-blocked
// micro-kernel, `gemm`: C (+)= A B with A read as broadcast scalars through two strides
// (so A^T costs nothing) and B read as rows of vectors. Key blocks are packed (K
// transposed, V padded to whole vectors) into per-thread buffers first; that packing is
// the only place that reads K/V memory, which is what lets GCA read chunk memory through
// per-chunk pointers.
#ifndef DRT_ISA_NS
#error "define DRT_ISA_NS and DRT_VEC_BYTES before including attention_impl.h"
#endif

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/attention_cpu.h"

namespace drt::kernels::cpu::DRT_ISA_NS {
namespace {

constexpr int kVecBytes = DRT_VEC_BYTES;
// Vector registers of the ISA: 32 zmm with AVX-512, 16 otherwise.
constexpr int kRegs = kVecBytes == 64 ? 32 : 16;
// Widest column tile of the micro-kernel, in vectors.
constexpr int kMaxTileVecs = kRegs == 32 ? 4 : 2;

// Window attention blocks: queries per task and keys per inner step. Bk is a multiple of
// every vector length, so key tiles are whole vectors.
constexpr int64_t kWindowQueryBlock = 64;
constexpr int64_t kWindowKeyBlock = 64;

template <typename T>
struct VecTraits {
  static constexpr int kLanes = kVecBytes / static_cast<int>(sizeof(T));
  typedef T V __attribute__((vector_size(kVecBytes)));
  typedef T Unaligned __attribute__((vector_size(kVecBytes), aligned(alignof(T))));
};
template <typename T>
using Vec = typename VecTraits<T>::V;
template <typename T>
constexpr int kLanes = VecTraits<T>::kLanes;

template <typename T>
inline Vec<T> vload(const T* p) {
  return *reinterpret_cast<const typename VecTraits<T>::Unaligned*>(p);
}
template <typename T>
inline void vstore(T* p, Vec<T> v) {
  *reinterpret_cast<typename VecTraits<T>::Unaligned*>(p) = v;
}
template <typename T>
inline Vec<T> vsplat(T x) {
  return Vec<T>{} + x;
}
template <typename T>
inline Vec<T> viota() {
  Vec<T> v{};
  for (int i = 0; i < kLanes<T>; ++i) v[i] = static_cast<T>(i);
  return v;
}
template <typename T>
inline T hmax(Vec<T> v) {
  T m = v[0];
  for (int i = 1; i < kLanes<T>; ++i) m = v[i] > m ? v[i] : m;
  return m;
}
template <typename T>
inline T hsum(Vec<T> v) {
  T s = 0;
  for (int i = 0; i < kLanes<T>; ++i) s += v[i];
  return s;
}
inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline float sexp(float x) { return ::expf(x); }
inline double sexp(double x) { return ::exp(x); }
inline float slog(float x) { return ::logf(x); }
inline double slog(double x) { return ::log(x); }

// exp over a vector of floats: Cephes' expf (range reduction by ln 2, degree-6
// polynomial, 2^n through the exponent bits); relative error ~2 ulp. Inputs below -87.3
// (including -inf, the masked logits) give exactly 0.
inline Vec<float> vexp(Vec<float> x) {
  typedef int32_t IVec __attribute__((vector_size(kVecBytes)));
  using V = Vec<float>;
  V xc = x < -87.3f ? vsplat(-87.3f) : x;
  xc = xc > 88.3f ? vsplat(88.3f) : xc;
  const V fx = xc * 1.44269504088896341f + 0.5f;
  V n = __builtin_convertvector(__builtin_convertvector(fx, IVec), V);
  n = n > fx ? n - 1.0f : n;  // floor
  const V r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  V y = vsplat(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + r + 1.0f;
  const IVec bits = (__builtin_convertvector(n, IVec) + 127) << 23;
  y = y * (V)bits;  // same-size vector cast: reinterprets the bits
  return x < -87.3f ? V{} : y;
}
// Doubles are the gradient-check path: accuracy over speed.
inline Vec<double> vexp(Vec<double> x) {
  Vec<double> r;
  for (int i = 0; i < kLanes<double>; ++i) r[i] = ::exp(x[i]);
  return r;
}

// ---------------------------------------------------------------------------------------
// The micro-kernel. C[r, 0 .. NV*lanes) (+)= sum_k A[r*ars + k*acs] * B[k*ldb + 0 .. NV*lanes)
// for r < R: R x NV accumulators stay in registers for the whole k loop.
template <typename T, int R, int NV, bool kAccumulate>
inline void tile(const T* __restrict a, int64_t ars, int64_t acs, const T* __restrict b,
                 int64_t ldb, int64_t kd, T* __restrict c, int64_t ldc) {
  constexpr int VL = kLanes<T>;
  Vec<T> acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = kAccumulate ? vload(c + r * ldc + j * VL) : Vec<T>{};
  for (int64_t k = 0; k < kd; ++k) {
    Vec<T> bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = vload(b + k * ldb + j * VL);
    const T* ak = a + k * acs;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const T ar = ak[r * ars];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[r][j] += ar * bv[j];
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) vstore(c + r * ldc + j * VL, acc[r][j]);
}

// Rows per tile for NV column vectors: as many accumulators as the registers allow,
// leaving room for the NV loaded B vectors and one broadcast.
template <int NV>
constexpr int tile_rows() {
  constexpr int r = (kRegs - NV - 1) / NV;
  return r > 12 ? 12 : (r < 1 ? 1 : r);
}

template <typename T, int NV, bool kAccumulate>
inline void gemm_cols(int64_t m, const T* a, int64_t ars, int64_t acs, const T* b, int64_t ldb,
                      int64_t kd, T* c, int64_t ldc) {
  constexpr int R = tile_rows<NV>();
  int64_t r = 0;
  for (; r + R <= m; r += R) tile<T, R, NV, kAccumulate>(a + r * ars, ars, acs, b, ldb, kd, c + r * ldc, ldc);
  if constexpr (R > 4)
    for (; r + 4 <= m; r += 4) tile<T, 4, NV, kAccumulate>(a + r * ars, ars, acs, b, ldb, kd, c + r * ldc, ldc);
  if constexpr (R > 2)
    for (; r + 2 <= m; r += 2) tile<T, 2, NV, kAccumulate>(a + r * ars, ars, acs, b, ldb, kd, c + r * ldc, ldc);
  for (; r < m; ++r) tile<T, 1, NV, kAccumulate>(a + r * ars, ars, acs, b, ldb, kd, c + r * ldc, ldc);
}

// C[m, nvec*lanes] (+)= A[m, kd] B[kd, nvec*lanes]; A element (r, k) at a[r*ars + k*acs],
// B row k at b + k*ldb, C row r at c + r*ldc.
template <typename T, bool kAccumulate>
void gemm(int64_t m, int64_t nvec, int64_t kd, const T* a, int64_t ars, int64_t acs, const T* b,
          int64_t ldb, T* c, int64_t ldc) {
  constexpr int VL = kLanes<T>;
  if (m <= 0 || nvec <= 0) return;
  int64_t j = 0;
  for (; j + kMaxTileVecs <= nvec; j += kMaxTileVecs)
    gemm_cols<T, kMaxTileVecs, kAccumulate>(m, a, ars, acs, b + j * VL, ldb, kd, c + j * VL, ldc);
  switch (nvec - j) {
    case 3:
      gemm_cols<T, 3, kAccumulate>(m, a, ars, acs, b + j * VL, ldb, kd, c + j * VL, ldc);
      break;
    case 2:
      gemm_cols<T, 2, kAccumulate>(m, a, ars, acs, b + j * VL, ldb, kd, c + j * VL, ldc);
      break;
    case 1:
      gemm_cols<T, 1, kAccumulate>(m, a, ars, acs, b + j * VL, ldb, kd, c + j * VL, ldc);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------
// Per-thread scratch, kept between calls: fresh pages cost a page fault each on first
// touch (tens of microseconds on a virtual machine), which for the backward's dK/dV
// accumulators would be paid on every call. Grows to the largest request; freed when
// the thread exits. OpenMP pool threads persist, so steady-state calls allocate nothing.
class ThreadBuffer {
 public:
  ~ThreadBuffer() { ::free(data_); }
  char* get(size_t bytes) {
    if (bytes > capacity_) {
      ::free(data_);
      capacity_ = static_cast<size_t>(round_up(static_cast<int64_t>(bytes), 1 << 16));
      data_ = static_cast<char*>(::aligned_alloc(64, capacity_));
      if (data_ == nullptr) ::abort();
    }
    return data_;
  }

 private:
  char* data_ = nullptr;
  size_t capacity_ = 0;
};

// Carves one thread's scratch into 64-byte aligned buffers. One Arena per thread per
// call (the kernels never nest).
class Arena {
 public:
  explicit Arena(size_t bytes) {
    static thread_local ThreadBuffer buffer;
    base_ = buffer.get(bytes + 64);
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  template <typename T>
  T* take(int64_t n) {
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += need<T>(n);
    return p;
  }
  // Bytes that take() will consume for n elements of T.
  template <typename T>
  static int64_t need(int64_t n) {
    return round_up(n * static_cast<int64_t>(sizeof(T)), 64);
  }

 private:
  char* base_ = nullptr;
  int64_t used_ = 0;
};

inline int team_size(int64_t tasks) {
  const int n = omp_get_max_threads();
  return static_cast<int>(imax(1, imin(n, tasks)));
}

// dst[0..ld) = scale * src[0..n), zero-padded to width `ld`.
template <typename T>
inline void pack_row(T* dst, const T* src, int64_t n, int64_t ld, T scale) {
  for (int64_t d = 0; d < n; ++d) dst[d] = scale * src[d];
  for (int64_t d = n; d < ld; ++d) dst[d] = 0;
}

// Transposes n rows of `dims` values (row j at first_row + j * row_stride) into
// dst[d * ld + j], scaled, and zeroes the columns n <= j < n_pad.
template <typename T>
inline void pack_transposed(T* dst, int64_t ld, const T* first_row, int64_t row_stride, int64_t n, int64_t n_pad,
                            int64_t dims, T scale) {
  for (int64_t j = 0; j < n; ++j) {
    const T* src = first_row + j * row_stride;
    for (int64_t d = 0; d < dims; ++d) dst[d * ld + j] = scale * src[d];
  }
  for (int64_t d = 0; d < dims; ++d)
    for (int64_t j = n; j < n_pad; ++j) dst[d * ld + j] = 0;
}

// The B operand "n rows of D values" for a product with D-wide output rows: the rows in
// place when D is whole vectors (no copy: K/V are read where they live), else a
// zero-padded copy in `buf`. Returns the rows and sets `ld` to their stride.
template <typename T>
inline const T* rows_operand(const T* first_row, int64_t row_stride, int64_t n, int64_t D, int64_t Dp, T* buf,
                             int64_t* ld) {
  if (D == Dp) {
    *ld = row_stride;
    return first_row;
  }
  for (int64_t j = 0; j < n; ++j) pack_row(buf + j * Dp, first_row + j * row_stride, D, Dp, T(1));
  *ld = Dp;
  return buf;
}

// log over a vector of floats: Cephes' logf (mantissa in [sqrt(1/2), sqrt(2)), degree-8
// polynomial); for the positive normal inputs of a log-sum-exp.
inline Vec<float> vlog(Vec<float> x) {
  typedef int32_t IVec __attribute__((vector_size(kVecBytes)));
  using V = Vec<float>;
  const IVec bits = (IVec)x;
  IVec e = ((bits >> 23) & 0xff) - 126;         // x = m 2^e, m in [0.5, 1)
  V m = (V)((bits & 0x007fffff) | 0x3f000000);
  const auto small = m < 0.707106781186547524f;  // then use 2m in [sqrt(1/2), 1)
  e = small ? e - 1 : e;
  m = small ? m + m - 1.0f : m - 1.0f;
  const V z = m * m;
  V y = vsplat(7.0376836292e-2f);
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  const V ef = __builtin_convertvector(e, V);
  y = y - 2.12194440e-4f * ef - 0.5f * z;
  return m + y + 0.693359375f * ef;
}
inline Vec<double> vlog(Vec<double> x) {
  Vec<double> r;
  for (int i = 0; i < kLanes<double>; ++i) r[i] = ::log(x[i]);
  return r;
}

template <typename T>
inline Vec<T> vmax(Vec<T> a, Vec<T> b) {
  return a > b ? a : b;
}

// All kernels below keep the logits of a (key block, query block) pair transposed,
// S^T[key, query] = K Q^T: the keys are the rows, so K is the broadcast operand read in
// place, and the softmax over keys for one query is a column: its max and sum are plain
// vector operations across rows, with no horizontal reductions. P^T then serves as A^T
// (free) in O += P V, and directly in dV += P^T dO and dK += dS^T Q.

// ---------------------------------------------------------------------------------------
// Sliding-window attention, forward. Task = (b, h, block of Bq queries); key blocks of Bk
// from the block's first visible key to its last query's position; online softmax.
template <typename T>
void window_forward_impl(const WindowParams<T>& p) {
  constexpr int VL = kLanes<T>;
  const int64_t B = p.batch, Tq = p.q_len, H = p.heads, D = p.head_dim, W = p.window;
  const int64_t Dp = round_up(D, VL), Bq = kWindowQueryBlock, Bk = kWindowKeyBlock;
  const int64_t n_qblocks = (Tq + Bq - 1) / Bq;
  const int64_t tasks = B * H * n_qblocks;
  const T scale = static_cast<T>(1.0 / ::sqrt(static_cast<double>(D)));
  const size_t bytes = Arena::need<T>(D * Bq) + Arena::need<T>(Bk * Bq) + Arena::need<T>(Bq * Dp) +
                       Arena::need<T>(Bk * Dp) + Arena::need<T>(Bq) * 4;
#pragma omp parallel num_threads(team_size(tasks))
  {
    Arena arena(bytes);
    T* qt = arena.take<T>(D * Bq);     // [D, Bq]   scaled queries, transposed
    T* st = arena.take<T>(Bk * Bq);    // [Bk, Bq]  logits^T, then probabilities^T
    T* o = arena.take<T>(Bq * Dp);     // [Bq, Dp]  unnormalised output
    T* vbuf = arena.take<T>(Bk * Dp);  // [Bk, Dp]  padded values (only when D is not whole vectors)
    T* m_run = arena.take<T>(Bq);      // [Bq]      running max per query
    T* l_run = arena.take<T>(Bq);      // [Bq]      running sum per query
    T* m_use = arena.take<T>(Bq);      // [Bq]      max subtracted in this block (0 while none visible)
    T* alpha = arena.take<T>(Bq);      // [Bq]      rescale of the previous blocks
    const Vec<T> iota = viota<T>();
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t qb = task % n_qblocks, bh = task / n_qblocks, h = bh % H, b = bh / H;
      const int64_t i0 = qb * Bq, nq = imin(Bq, Tq - i0), nqv = (nq + VL - 1) / VL;
      const int64_t p0 = p.q_offset + i0;                    // position of query 0
      const int64_t k_lo = imax(0, p0 - W), k_hi = p0 + nq;  // keys [k_lo, k_hi)
      const T slope = p.slopes != nullptr ? p.slopes[h] : T(0);
      const T n_valid = static_cast<T>(nq);
      pack_transposed(qt, Bq, p.q.row(b, i0, h), p.q.pos_stride, nq, nqv * VL, D, scale);
      for (int64_t c = 0; c < nqv; ++c) {
        vstore(m_run + c * VL, vsplat<T>(-INFINITY));
        vstore(l_run + c * VL, Vec<T>{});
      }
      memset(o, 0, sizeof(T) * nq * Dp);
      for (int64_t kb0 = k_lo; kb0 < k_hi; kb0 += Bk) {
        const int64_t nk = imin(Bk, k_hi - kb0);
        gemm<T, false>(nk, nqv, D, p.k.row(b, kb0, h), p.k.pos_stride, 1, qt, Bq, st, Bq);  // S^T = K Q^T
        // Key j (position kb0 + j) is seen by the queries i with 0 <= p0 + i - (kb0 + j) <= W.
        // ALiBi adds -slope * (p0 + i - kb0 - j).
        for (int64_t c = 0; c < nqv; ++c) vstore(m_use + c * VL, vsplat<T>(-INFINITY));
        for (int64_t j = 0; j < nk; ++j) {
          const T lo = static_cast<T>(kb0 + j - p0), hi = lo + static_cast<T>(W);
          const T base = slope * lo;  // -slope * (p0 + i - kb0 - j) = slope * lo - slope * i
          T* sj = st + j * Bq;
          for (int64_t c = 0; c < nqv; ++c) {
            const Vec<T> iv = iota + static_cast<T>(c * VL);
            Vec<T> x = vload(sj + c * VL) + base - slope * iv;
            x = (iv >= lo) & (iv <= hi) & (iv < n_valid) ? x : vsplat<T>(-INFINITY);
            vstore(sj + c * VL, x);
            vstore(m_use + c * VL, vmax<T>(vload(m_use + c * VL), x));
          }
        }
        for (int64_t c = 0; c < nqv; ++c) {
          const Vec<T> m_new = vmax<T>(vload(m_run + c * VL), vload(m_use + c * VL));
          // A query that has seen no key yet keeps max -inf; subtract 0 instead (its
          // probabilities are exp(-inf) = 0) so that no inf - inf appears.
          const Vec<T> mu = m_new == vsplat<T>(-INFINITY) ? Vec<T>{} : m_new;
          const Vec<T> a = vexp(vload(m_run + c * VL) - mu);
          vstore(alpha + c * VL, a);
          vstore(m_use + c * VL, mu);
          vstore(m_run + c * VL, m_new);
          vstore(l_run + c * VL, vload(l_run + c * VL) * a);
        }
        for (int64_t j = 0; j < nk; ++j) {
          T* sj = st + j * Bq;
          for (int64_t c = 0; c < nqv; ++c) {
            const Vec<T> e = vexp(vload(sj + c * VL) - vload(m_use + c * VL));
            vstore(sj + c * VL, e);
            vstore(l_run + c * VL, vload(l_run + c * VL) + e);
          }
        }
        for (int64_t i = 0; i < nq; ++i) {
          if (alpha[i] == T(1)) continue;
          T* oi = o + i * Dp;
          for (int64_t d = 0; d < Dp; d += VL) vstore(oi + d, vload(oi + d) * alpha[i]);
        }
        int64_t ldv = 0;
        const T* vrows = rows_operand(p.v.row(b, kb0, h), p.v.pos_stride, nk, D, Dp, vbuf, &ldv);
        gemm<T, true>(nq, Dp / VL, nk, st, 1, Bq, vrows, ldv, o, Dp);  // O += P V
      }
      for (int64_t i = 0; i < nq; ++i) {
        const T inv = T(1) / l_run[i];
        T* dst = p.out.row(b, i0 + i, h);
        for (int64_t d = 0; d < D; ++d) dst[d] = o[i * Dp + d] * inv;
        p.lse[(b * H + h) * Tq + i0 + i] = m_run[i] + slog(l_run[i]);
      }
    }
  }
}

// Sliding-window attention, backward (FlashAttention-2 recurrences). Task = (b, h): it
// walks all query blocks in order and owns dK/dV of that (b, h), so no two threads write
// the same gradient row. With logits x = q.k/sqrt(D) + bias and P = exp(x - lse):
//   dV += P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dO * O));  dQ += dS K / sqrt(D);
//   dK += dS^T Q / sqrt(D).
template <typename T>
void window_backward_impl(const WindowParams<T>& p) {
  constexpr int VL = kLanes<T>;
  const int64_t B = p.batch, Tq = p.q_len, Tk = p.k_len, H = p.heads, D = p.head_dim, W = p.window;
  const int64_t Dp = round_up(D, VL), Bq = kWindowQueryBlock, Bk = kWindowKeyBlock;
  const int64_t n_qblocks = (Tq + Bq - 1) / Bq;
  const int64_t tasks = B * H;
  const T scale = static_cast<T>(1.0 / ::sqrt(static_cast<double>(D)));
  const size_t bytes = Arena::need<T>(D * Bq) * 2 + Arena::need<T>(Bq * Dp) * 3 + Arena::need<T>(Bk * Bq) * 2 +
                       Arena::need<T>(Bk * Dp) + Arena::need<T>(Bq) * 2 + Arena::need<T>(Tk * Dp) * 2;
#pragma omp parallel num_threads(team_size(tasks))
  {
    Arena arena(bytes);
    T* qt = arena.take<T>(D * Bq);     // [D, Bq]   scaled queries, transposed
    T* dot = arena.take<T>(D * Bq);    // [D, Bq]   dO, transposed
    T* qs = arena.take<T>(Bq * Dp);    // [Bq, Dp]  scaled queries
    T* dos = arena.take<T>(Bq * Dp);   // [Bq, Dp]  dO
    T* dqs = arena.take<T>(Bq * Dp);   // [Bq, Dp]  dQ accumulator (unscaled)
    T* pt = arena.take<T>(Bk * Bq);    // [Bk, Bq]  P^T
    T* dst = arena.take<T>(Bk * Bq);   // [Bk, Bq]  dP^T, then dS^T
    T* kbuf = arena.take<T>(Bk * Dp);  // [Bk, Dp]  padded keys (only when D is not whole vectors)
    T* lse = arena.take<T>(Bq);        // [Bq]
    T* delta = arena.take<T>(Bq);      // [Bq]      rowsum(dO * O)
    T* dk_acc = arena.take<T>(Tk * Dp);  // [Tk, Dp]
    T* dv_acc = arena.take<T>(Tk * Dp);  // [Tk, Dp]
    const Vec<T> iota = viota<T>();
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t h = task % H, b = task / H;
      const T slope = p.slopes != nullptr ? p.slopes[h] : T(0);
      const int64_t key_first = imax(0, p.q_offset - W), key_end = p.q_offset + Tq;
      memset(dk_acc + key_first * Dp, 0, sizeof(T) * (key_end - key_first) * Dp);
      memset(dv_acc + key_first * Dp, 0, sizeof(T) * (key_end - key_first) * Dp);
      for (int64_t qb = 0; qb < n_qblocks; ++qb) {
        const int64_t i0 = qb * Bq, nq = imin(Bq, Tq - i0), nqv = (nq + VL - 1) / VL;
        const int64_t p0 = p.q_offset + i0;
        const int64_t k_lo = imax(0, p0 - W), k_hi = p0 + nq;
        const T n_valid = static_cast<T>(nq);
        pack_transposed(qt, Bq, p.q.row(b, i0, h), p.q.pos_stride, nq, nqv * VL, D, scale);
        pack_transposed(dot, Bq, p.d_out.row(b, i0, h), p.d_out.pos_stride, nq, nqv * VL, D, T(1));
        for (int64_t i = 0; i < nqv * VL; ++i) {
          if (i >= nq) {
            lse[i] = delta[i] = 0;
            continue;
          }
          pack_row(qs + i * Dp, p.q.row(b, i0 + i, h), D, Dp, scale);
          pack_row(dos + i * Dp, p.d_out.row(b, i0 + i, h), D, Dp, T(1));
          const T* oi = p.out_in.row(b, i0 + i, h);
          T dotv = 0;
          for (int64_t d = 0; d < D; ++d) dotv += dos[i * Dp + d] * oi[d];
          delta[i] = dotv;
          lse[i] = p.lse_in[(b * H + h) * Tq + i0 + i];
        }
        memset(dqs, 0, sizeof(T) * nq * Dp);
        for (int64_t kb0 = k_lo; kb0 < k_hi; kb0 += Bk) {
          const int64_t nk = imin(Bk, k_hi - kb0);
          gemm<T, false>(nk, nqv, D, p.k.row(b, kb0, h), p.k.pos_stride, 1, qt, Bq, pt, Bq);   // S^T = K Q^T
          gemm<T, false>(nk, nqv, D, p.v.row(b, kb0, h), p.v.pos_stride, 1, dot, Bq, dst, Bq);  // dP^T = V dO^T
          for (int64_t j = 0; j < nk; ++j) {
            const T lo = static_cast<T>(kb0 + j - p0), hi = lo + static_cast<T>(W);
            const T base = slope * lo;
            T* pj = pt + j * Bq;
            T* dj = dst + j * Bq;
            for (int64_t c = 0; c < nqv; ++c) {
              const Vec<T> iv = iota + static_cast<T>(c * VL);
              Vec<T> x = vload(pj + c * VL) + base - slope * iv - vload(lse + c * VL);
              x = (iv >= lo) & (iv <= hi) & (iv < n_valid) ? x : vsplat<T>(-INFINITY);
              const Vec<T> pr = vexp(x);
              vstore(pj + c * VL, pr);
              vstore(dj + c * VL, pr * (vload(dj + c * VL) - vload(delta + c * VL)));
            }
          }
          gemm<T, true>(nk, Dp / VL, nq, pt, Bq, 1, dos, Dp, dv_acc + kb0 * Dp, Dp);   // dV += P^T dO
          gemm<T, true>(nk, Dp / VL, nq, dst, Bq, 1, qs, Dp, dk_acc + kb0 * Dp, Dp);  // dK += dS^T Qs
          int64_t ldk = 0;
          const T* krows = rows_operand(p.k.row(b, kb0, h), p.k.pos_stride, nk, D, Dp, kbuf, &ldk);
          gemm<T, true>(nq, Dp / VL, nk, dst, 1, Bq, krows, ldk, dqs, Dp);  // dQ += dS K
        }
        for (int64_t i = 0; i < nq; ++i) {
          T* out = p.dq.row(b, i0 + i, h);
          for (int64_t d = 0; d < D; ++d) out[d] = dqs[i * Dp + d] * scale;
        }
      }
      for (int64_t j = 0; j < Tk; ++j) {
        T* dk = p.dk.row(b, j, h);
        T* dv = p.dv.row(b, j, h);
        if (j < key_first || j >= key_end) {
          memset(dk, 0, sizeof(T) * D);
          memset(dv, 0, sizeof(T) * D);
        } else {
          memcpy(dk, dk_acc + j * Dp, sizeof(T) * D);
          memcpy(dv, dv_acc + j * Dp, sizeof(T) * D);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// GCA, forward. Task = (b, n, h): the L queries of block n against each retrieved chunk:
// one block of S keys plus the null key, so one exact softmax (no online rescaling);
// o += (w_i / sum_i) exp(x - max_i) V_i. K and V are read in place through the chunk
// pointer (GcaParams::k_chunk / v_chunk).
template <typename T>
void gca_forward_impl(const GcaParams<T>& p) {
  constexpr int VL = kLanes<T>;
  const int64_t B = p.batch, N = p.blocks, L = p.block_len, H = p.heads, D = p.head_dim;
  const int64_t S = p.chunk_len, K = p.topk;
  const int64_t Dp = round_up(D, VL), Lp = round_up(L, VL), Lv = Lp / VL;
  const int64_t tasks = B * N * H;
  const T scale = static_cast<T>(1.0 / ::sqrt(static_cast<double>(D)));
  const size_t bytes = Arena::need<T>(D * Lp) + Arena::need<T>(S * Lp) + Arena::need<T>(L * Dp) * 2 +
                       Arena::need<T>(S * Dp) + Arena::need<T>(Lp) * 2;
#pragma omp parallel num_threads(team_size(tasks))
  {
    Arena arena(bytes);
    T* qt = arena.take<T>(D * Lp);    // [D, Lp]  scaled queries, transposed
    T* st = arena.take<T>(S * Lp);    // [S, Lp]  logits^T, then exp(x - max)^T
    T* o = arena.take<T>(L * Dp);     // [L, Dp]  sum_i w_i o_i
    T* oi = arena.take<T>(L * Dp);    // [L, Dp]  unnormalised o_i of one slot
    T* vbuf = arena.take<T>(S * Dp);  // [S, Dp]  padded values (only when D is not whole vectors)
    T* f = arena.take<T>(Lp);         // [Lp]     w_i / sum_i per query
    T* lse_l = arena.take<T>(Lp);     // [Lp]
    const bool null_key = p.null_key;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t h = task % H, bn = task / H, n = bn % N, b = bn / N;
      const int64_t q_off = b * p.q_b + n * p.q_n + h * p.q_h;
      pack_transposed(qt, Lp, p.q + q_off, p.q_l, L, Lp, D, scale);
      memset(o, 0, sizeof(T) * L * Dp);
      const int64_t* idx = p.indices + b * p.sel_b + n * p.sel_n;
      const T* wts = p.weights + b * p.sel_b + n * p.sel_n;
      T* lse = p.lse + ((b * N + n) * K * H) * L;  // [K, H, L]
      for (int64_t slot = 0; slot < K; ++slot) {
        T* lse_slot = lse + (slot * H + h) * L;
        const T w = wts[slot];
        if (w == T(0)) {
          memset(lse_slot, 0, sizeof(T) * L);
          continue;
        }
        const int64_t m = idx[slot];
        const T* kc = p.k_chunk(b, m) + h * p.mem_h;  // [S, D], row stride mem_s
        const T* vc = p.v_chunk(b, m) + h * p.mem_h;
        gemm<T, false>(S, Lv, D, kc, p.mem_s, 1, qt, Lp, st, Lp);  // S^T = K Q^T
        for (int64_t c = 0; c < Lv; ++c) {
          Vec<T> mx = vsplat<T>(null_key ? T(0) : T(-INFINITY));
          for (int64_t j = 0; j < S; ++j) mx = vmax<T>(mx, vload(st + j * Lp + c * VL));
          Vec<T> sum = null_key ? vexp(-mx) : Vec<T>{};
          for (int64_t j = 0; j < S; ++j) {
            const Vec<T> e = vexp(vload(st + j * Lp + c * VL) - mx);
            vstore(st + j * Lp + c * VL, e);
            sum += e;
          }
          vstore(lse_l + c * VL, mx + vlog(sum));
          vstore(f + c * VL, w / sum);
        }
        memcpy(lse_slot, lse_l, sizeof(T) * L);
        int64_t ldv = 0;
        const T* vrows = rows_operand(vc, p.mem_s, S, D, Dp, vbuf, &ldv);
        gemm<T, false>(L, Dp / VL, S, st, 1, Lp, vrows, ldv, oi, Dp);  // o_i = E V (E = exp(x - max))
        for (int64_t l = 0; l < L; ++l) {
          const T fl = f[l];
          for (int64_t d = 0; d < Dp; d += VL) vstore(o + l * Dp + d, vload(o + l * Dp + d) + fl * vload(oi + l * Dp + d));
        }
      }
      T* orow = p.out + q_off;
      for (int64_t l = 0; l < L; ++l) memcpy(orow + l * p.q_l, o + l * Dp, sizeof(T) * D);
    }
  }
}

// GCA, backward. Task = (b, h): it walks every query block and slot in order and owns dK,
// dV of that (b, h) for all M chunks, so chunks retrieved by several query blocks are
// accumulated without races. Per slot i with weight w and P = exp(x - lse):
//   dP = dO V^T (the gradient of P before the weight), r = rowsum(P * dP) = <dO, o_i>,
//   dw_i += sum r,  dS = w P (dP - r),  dQ += dS K / sqrt(D),  dK += dS^T Q / sqrt(D),
//   dV += (w P)^T dO.
template <typename T>
void gca_backward_impl(const GcaParams<T>& p) {
  constexpr int VL = kLanes<T>;
  const int64_t B = p.batch, N = p.blocks, L = p.block_len, H = p.heads, D = p.head_dim;
  const int64_t M = p.chunks, S = p.chunk_len, K = p.topk;
  const int64_t Dp = round_up(D, VL), Lp = round_up(L, VL), Lv = Lp / VL;
  const int64_t tasks = B * H;
  const T scale = static_cast<T>(1.0 / ::sqrt(static_cast<double>(D)));
  const size_t bytes = Arena::need<T>(D * Lp) * 2 + Arena::need<T>(L * Dp) * 3 + Arena::need<T>(S * Lp) * 2 +
                       Arena::need<T>(S * Dp) + Arena::need<T>(Lp) * 2 + Arena::need<T>(M * S * Dp) * 2 +
                       Arena::need<char>(M);
#pragma omp parallel num_threads(team_size(tasks))
  {
    Arena arena(bytes);
    T* qt = arena.take<T>(D * Lp);          // [D, Lp]  scaled queries, transposed
    T* dot = arena.take<T>(D * Lp);         // [D, Lp]  dO, transposed
    T* qs = arena.take<T>(L * Dp);          // [L, Dp]  scaled queries
    T* dos = arena.take<T>(L * Dp);         // [L, Dp]  dO
    T* dqs = arena.take<T>(L * Dp);         // [L, Dp]  dQ accumulator (unscaled)
    T* pt = arena.take<T>(S * Lp);          // [S, Lp]  (w P)^T
    T* dst = arena.take<T>(S * Lp);         // [S, Lp]  dP^T, then dS^T
    T* kbuf = arena.take<T>(S * Dp);        // [S, Dp]  padded keys (only when D is not whole vectors)
    T* lse = arena.take<T>(Lp);             // [Lp]
    T* r = arena.take<T>(Lp);               // [Lp]     <dO, o_i> per query
    T* dk_acc = arena.take<T>(M * S * Dp);  // [M, S, Dp]
    T* dv_acc = arena.take<T>(M * S * Dp);  // [M, S, Dp]
    char* touched = arena.take<char>(M);    // [M] chunk m has a gradient in this task
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t h = task % H, b = task / H;
      memset(touched, 0, M);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t q_off = b * p.q_b + n * p.q_n + h * p.q_h;
        pack_transposed(qt, Lp, p.q + q_off, p.q_l, L, Lp, D, scale);
        pack_transposed(dot, Lp, p.d_out + q_off, p.q_l, L, Lp, D, T(1));
        for (int64_t l = 0; l < L; ++l) {
          pack_row(qs + l * Dp, p.q + q_off + l * p.q_l, D, Dp, scale);
          pack_row(dos + l * Dp, p.d_out + q_off + l * p.q_l, D, Dp, T(1));
        }
        memset(dqs, 0, sizeof(T) * L * Dp);
        const int64_t* idx = p.indices + b * p.sel_b + n * p.sel_n;
        const T* wts = p.weights + b * p.sel_b + n * p.sel_n;
        for (int64_t slot = 0; slot < K; ++slot) {
          T* dw = p.dw_heads + ((b * N + n) * K + slot) * H + h;
          const T w = wts[slot];
          if (w == T(0)) {
            *dw = 0;
            continue;
          }
          const int64_t m = idx[slot];
          const T* kc = p.k_chunk(b, m) + h * p.mem_h;  // [S, D], row stride mem_s
          const T* vc = p.v_chunk(b, m) + h * p.mem_h;
          const T* lse_in = p.lse_in + (((b * N + n) * K + slot) * H + h) * L;
          memcpy(lse, lse_in, sizeof(T) * L);
          for (int64_t l = L; l < Lp; ++l) lse[l] = 0;
          gemm<T, false>(S, Lv, D, kc, p.mem_s, 1, qt, Lp, pt, Lp);    // S^T = K Q^T
          gemm<T, false>(S, Lv, D, vc, p.mem_s, 1, dot, Lp, dst, Lp);  // dP^T = V dO^T
          for (int64_t c = 0; c < Lv; ++c) {
            const Vec<T> lse_c = vload(lse + c * VL);
            Vec<T> rc = Vec<T>{};
            for (int64_t j = 0; j < S; ++j) {
              const Vec<T> pr = vexp(vload(pt + j * Lp + c * VL) - lse_c);
              rc += pr * vload(dst + j * Lp + c * VL);
              vstore(pt + j * Lp + c * VL, w * pr);
            }
            for (int64_t j = 0; j < S; ++j)
              vstore(dst + j * Lp + c * VL, vload(pt + j * Lp + c * VL) * (vload(dst + j * Lp + c * VL) - rc));
            vstore(r + c * VL, rc);
          }
          T dw_sum = 0;
          for (int64_t l = 0; l < L; ++l) dw_sum += r[l];
          *dw = dw_sum;
          T* dkm = dk_acc + m * S * Dp;
          T* dvm = dv_acc + m * S * Dp;
          if (!touched[m]) {
            memset(dkm, 0, sizeof(T) * S * Dp);
            memset(dvm, 0, sizeof(T) * S * Dp);
            touched[m] = 1;
          }
          int64_t ldk = 0;
          const T* krows = rows_operand(kc, p.mem_s, S, D, Dp, kbuf, &ldk);
          gemm<T, true>(L, Dp / VL, S, dst, 1, Lp, krows, ldk, dqs, Dp);  // dQ += dS K
          gemm<T, true>(S, Dp / VL, L, dst, Lp, 1, qs, Dp, dkm, Dp);      // dK += dS^T Qs
          gemm<T, true>(S, Dp / VL, L, pt, Lp, 1, dos, Dp, dvm, Dp);      // dV += (w P)^T dO
        }
        for (int64_t l = 0; l < L; ++l) {
          T* out = p.dq + q_off + l * p.q_l;
          for (int64_t d = 0; d < D; ++d) out[d] = dqs[l * Dp + d] * scale;
        }
      }
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t j = 0; j < S; ++j) {
          const int64_t off = b * p.mem_b + m * p.mem_m + j * p.mem_s + h * p.mem_h;
          if (touched[m]) {
            memcpy(p.dk + off, dk_acc + (m * S + j) * Dp, sizeof(T) * D);
            memcpy(p.dv + off, dv_acc + (m * S + j) * Dp, sizeof(T) * D);
          } else {
            memset(p.dk + off, 0, sizeof(T) * D);
            memset(p.dv + off, 0, sizeof(T) * D);
          }
        }
      }
    }
  }
}

// Peak float32 FMA throughput of this ISA on all threads: 16 independent accumulator
// chains per thread (enough to cover FMA latency x ports), no memory traffic. The
// attainable ceiling that the kernels' GFLOP/s are compared with.
double fma_peak_gflops(double seconds) {
  constexpr int kChains = 16;
  constexpr int64_t kInner = 4096;
  double total_flops = 0, wall = 0;
  const double start = omp_get_wtime();
#pragma omp parallel num_threads(omp_get_max_threads()) reduction(+ : total_flops)
  {
    Vec<float> acc[kChains];
    for (int c = 0; c < kChains; ++c) acc[c] = vsplat<float>(static_cast<float>(c) * 1e-3f);
    const Vec<float> mul = vsplat<float>(0.999999f), add = vsplat<float>(1e-7f);
    int64_t rounds = 0;
    while (omp_get_wtime() - start < seconds) {
      for (int64_t i = 0; i < kInner; ++i) {
#pragma GCC unroll 16
        for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * mul + add;
      }
      ++rounds;
    }
    volatile float sink = 0;  // keeps the chains alive
    for (int c = 0; c < kChains; ++c) sink = sink + hsum<float>(acc[c]);
    total_flops += static_cast<double>(rounds) * kInner * kChains * kLanes<float> * 2.0;
  }
  wall = omp_get_wtime() - start;
  return total_flops / wall / 1e9;
}

}  // namespace

const KernelTable& kernel_table() {
  static const KernelTable table = {
      true,
      &window_forward_impl<float>,
      &window_backward_impl<float>,
      &gca_forward_impl<float>,
      &gca_backward_impl<float>,
      &window_forward_impl<double>,
      &window_backward_impl<double>,
      &gca_forward_impl<double>,
      &gca_backward_impl<double>,
      &fma_peak_gflops,
  };
  return table;
}

}  // namespace drt::kernels::cpu::DRT_ISA_NS
