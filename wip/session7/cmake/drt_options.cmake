# Compiler flags shared by every drt target.
separate_arguments(TORCH_CXX_FLAGS_LIST UNIX_COMMAND "${TORCH_CXX_FLAGS}")

function(drt_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)
endfunction()

# CPU kernels are compiled for the baseline ISA and, separately, with AVX-512 enabled;
# the choice between them is made at run time (src/kernels/cpu/dispatch.cc).
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag("-mavx512f -mavx512bw -mavx512vl -mfma" DRT_HAVE_AVX512_FLAGS)
check_cxx_compiler_flag("-mavx2 -mfma" DRT_HAVE_AVX2_FLAGS)

# One translation unit per instruction set, all including kernels/cpu/attention_impl.h.
# They include no LibTorch header, so they skip the precompiled header (which was built
# with the baseline flags). -ffp-contract=fast lets a*b+c become one FMA.
set(DRT_KERNEL_CPU_DIR ${PROJECT_SOURCE_DIR}/src/kernels/cpu)
set_source_files_properties(${DRT_KERNEL_CPU_DIR}/attention_generic.cc PROPERTIES
  SKIP_PRECOMPILE_HEADERS ON COMPILE_OPTIONS "-ffp-contract=fast")
set(DRT_KERNEL_AVX2_FLAGS -ffp-contract=fast)
if(DRT_HAVE_AVX2_FLAGS)
  list(APPEND DRT_KERNEL_AVX2_FLAGS -mavx2 -mfma)
endif()
set_source_files_properties(${DRT_KERNEL_CPU_DIR}/attention_avx2.cc PROPERTIES
  SKIP_PRECOMPILE_HEADERS ON COMPILE_OPTIONS "${DRT_KERNEL_AVX2_FLAGS}")
set(DRT_KERNEL_AVX512_FLAGS -ffp-contract=fast)
if(DRT_HAVE_AVX512_FLAGS)
  list(APPEND DRT_KERNEL_AVX512_FLAGS -mavx512f -mavx512bw -mavx512vl -mfma)
endif()
set_source_files_properties(${DRT_KERNEL_CPU_DIR}/attention_avx512.cc PROPERTIES
  SKIP_PRECOMPILE_HEADERS ON COMPILE_OPTIONS "${DRT_KERNEL_AVX512_FLAGS}")
