# Finds LibTorch and sets TORCH_LIBRARIES, TORCH_INCLUDE_DIRS, TORCH_CXX_FLAGS, and:
#   DRT_TORCH_HAS_CUDA  LibTorch was built with CUDA (--device cuda can work)
#   DRT_TORCH_ROOT      the folder holding LibTorch's include/ and lib/
#
# Two ways:
#  - find_package(Torch): Debian's libtorch-dev, an unpacked LibTorch zip, or a pip torch
#    via -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)').
#  - -DDRT_TORCH_DIR=DIR (DIR holds include/ and lib/, e.g. a pip torch's package folder):
#    links LibTorch's libraries directly, for when LibTorch's CMake package fails on a
#    CUDA toolkit it does not expect. -DDRT_TORCH_CXX11_ABI=0|1 must match the build
#    (python3 -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))').
set(DRT_TORCH_DIR "" CACHE PATH "link LibTorch from this folder without its CMake package")
set(DRT_TORCH_CXX11_ABI 1 CACHE STRING "_GLIBCXX_USE_CXX11_ABI of the LibTorch in DRT_TORCH_DIR")
set(DRT_TORCH_HAS_CUDA OFF)

if(DRT_TORCH_DIR)
  set(DRT_TORCH_ROOT ${DRT_TORCH_DIR})
  set(TORCH_INCLUDE_DIRS ${DRT_TORCH_DIR}/include ${DRT_TORCH_DIR}/include/torch/csrc/api/include)
  set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=${DRT_TORCH_CXX11_ABI}")
  set(TORCH_LIBRARIES "")
  foreach(lib torch torch_cpu c10)
    find_library(DRT_TORCH_LIB_${lib} ${lib} PATHS ${DRT_TORCH_DIR}/lib NO_DEFAULT_PATH REQUIRED)
    list(APPEND TORCH_LIBRARIES ${DRT_TORCH_LIB_${lib}})
  endforeach()
  find_library(DRT_TORCH_LIB_torch_cuda torch_cuda PATHS ${DRT_TORCH_DIR}/lib NO_DEFAULT_PATH)
  if(DRT_TORCH_LIB_torch_cuda)
    find_library(DRT_TORCH_LIB_c10_cuda c10_cuda PATHS ${DRT_TORCH_DIR}/lib NO_DEFAULT_PATH REQUIRED)
    find_package(CUDAToolkit REQUIRED)
    # Nothing in drt names a libtorch_cuda symbol, but loading it is what registers the
    # CUDA backend: keep it linked.
    list(APPEND TORCH_LIBRARIES -Wl,--no-as-needed ${DRT_TORCH_LIB_torch_cuda} ${DRT_TORCH_LIB_c10_cuda}
         -Wl,--as-needed CUDA::cudart)
    list(APPEND TORCH_INCLUDE_DIRS ${CUDAToolkit_INCLUDE_DIRS})
    set(DRT_TORCH_HAS_CUDA ON)
  endif()
  add_library(drt_torch INTERFACE)
  target_include_directories(drt_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(drt_torch INTERFACE ${TORCH_LIBRARIES})
  set(TORCH_LIBRARIES drt_torch)
  message(STATUS "drt: LibTorch linked directly from ${DRT_TORCH_DIR} (CUDA: ${DRT_TORCH_HAS_CUDA})")
else()
  find_package(Torch REQUIRED)
  get_filename_component(DRT_TORCH_ROOT "${TORCH_INSTALL_PREFIX}" ABSOLUTE)
  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
    set(DRT_TORCH_HAS_CUDA ON)
    find_package(CUDAToolkit QUIET)
  endif()
  message(STATUS "drt: LibTorch from ${DRT_TORCH_ROOT} (CUDA: ${DRT_TORCH_HAS_CUDA})")
endif()
