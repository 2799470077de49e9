// The portable build of the CPU attention kernels: 16-byte vectors (SSE2 on x86-64, NEON
// on ARM), compiled with the project's baseline flags.
#define DRT_ISA_NS generic
#define DRT_VEC_BYTES 16
#include "kernels/cpu/attention_impl.h"
