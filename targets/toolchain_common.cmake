# Shared body of every targets/<name>/toolchain.cmake. The target's
# target.json is the one table of per-core facts: the compiler (cc) and the
# core flags (cflags) are read from it here, not repeated in CMake.
#   in:  EDGEAI_TARGET_DIR (the directory holding target.json)
#   out: EDGEAI_TARGET, EDGEAI_TARGET_KIND, EDGEAI_CPU_FLAGS, compilers and flags
cmake_minimum_required(VERSION 3.19) # string(JSON)

file(READ "${EDGEAI_TARGET_DIR}/target.json" _edgeai_json)
string(JSON EDGEAI_TARGET GET "${_edgeai_json}" name)
string(JSON EDGEAI_TARGET_KIND GET "${_edgeai_json}" kind)
string(JSON _edgeai_cc GET "${_edgeai_json}" cc)
string(JSON _edgeai_nflags LENGTH "${_edgeai_json}" cflags)
set(EDGEAI_CPU_FLAGS "")
if(_edgeai_nflags GREATER 0)
  math(EXPR _edgeai_last "${_edgeai_nflags} - 1")
  foreach(_i RANGE ${_edgeai_last})
    string(JSON _flag GET "${_edgeai_json}" cflags ${_i})
    string(APPEND EDGEAI_CPU_FLAGS " ${_flag}")
  endforeach()
endif()
string(STRIP "${EDGEAI_CPU_FLAGS}" EDGEAI_CPU_FLAGS)

set(CMAKE_C_COMPILER "${_edgeai_cc}")
set(CMAKE_C_FLAGS_INIT "${EDGEAI_CPU_FLAGS} -ffunction-sections -fdata-sections")

if(EDGEAI_TARGET_KIND STREQUAL "cortex-m")
  set(CMAKE_SYSTEM_NAME Generic)
  set(CMAKE_SYSTEM_PROCESSOR arm)
  set(CMAKE_ASM_COMPILER "${_edgeai_cc}")
  # Bare metal: compiler checks build a static library, nothing is linked.
  set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
  set(CMAKE_EXE_LINKER_FLAGS_INIT
      "${EDGEAI_CPU_FLAGS} -nostartfiles -Wl,--gc-sections")
elseif(NOT EDGEAI_TARGET STREQUAL "host")
  # aarch64 Linux boards: static executables run under qemu-aarch64-static
  # without a sysroot, and on the board without matching its libc.
  set(CMAKE_SYSTEM_NAME Linux)
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${EDGEAI_CPU_FLAGS} -static -Wl,--gc-sections")
  set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
else()
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")
endif()
