# CMake toolchain file for the cortex-m4 target: compiler and core flags come
# from target.json (see targets/toolchain_common.cmake).
set(EDGEAI_TARGET_DIR "${CMAKE_CURRENT_LIST_DIR}")
include("${CMAKE_CURRENT_LIST_DIR}/../toolchain_common.cmake")
