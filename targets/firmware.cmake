# edgeai_add_executable(<name> SOURCES <c files>... [INCLUDE_DIRS <dirs>...]
#                       [DEFINES <NAME=VALUE>...] [OPT <flags>...] [NO_WERROR])
#
# Builds a program for the target chosen by the toolchain file
# (targets/<name>/toolchain.cmake). Cortex-M programs get the target's
# vector table, the common board code (reset, UART, semihosting exit, faults,
# SysTick, region markers, newlib syscalls) and the linker script; Linux
# targets link statically (set by the toolchain file). Include this file from
# any CMake project configured with an edgeai toolchain file.
include_guard(GLOBAL)

set(EDGEAI_TARGETS_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(EDGEAI_WARNINGS -Wall -Wextra -Werror)

if(NOT DEFINED EDGEAI_TARGET)
  message(FATAL_ERROR "edgeai: configure with -DCMAKE_TOOLCHAIN_FILE=targets/<name>/toolchain.cmake")
endif()
set(_edgeai_tdir "${EDGEAI_TARGETS_DIR}/${EDGEAI_TARGET}")

if(EDGEAI_TARGET_KIND STREQUAL "cortex-m" AND NOT TARGET edgeai_board)
  set(_common "${EDGEAI_TARGETS_DIR}/common")
  # An object library, not an archive: nothing references the vector table,
  # so archive members would be dropped.
  add_library(edgeai_board OBJECT
    "${_edgeai_tdir}/startup.c"
    "${_common}/reset.c"
    "${_common}/faults.c"
    "${_common}/uart_cmsdk.c"
    "${_common}/semihost_exit.c"
    "${_common}/syscalls.c"
    "${_common}/systick.c"
    "${_common}/edgeai_marks.c"
    "${_common}/mpu_guard.c"
    "${_common}/aeabi_stubs.c")
  target_include_directories(edgeai_board PUBLIC "${_edgeai_tdir}" "${_common}")
  target_compile_options(edgeai_board PRIVATE ${EDGEAI_WARNINGS} -O2)
endif()

function(edgeai_add_executable name)
  cmake_parse_arguments(ARG "NO_WERROR" "" "SOURCES;INCLUDE_DIRS;DEFINES;OPT" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "edgeai_add_executable(${name}): no SOURCES")
  endif()
  if(NOT ARG_OPT)
    set(ARG_OPT -O2)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${ARG_INCLUDE_DIRS})
  target_compile_definitions(${name} PRIVATE ${ARG_DEFINES})
  target_compile_options(${name} PRIVATE ${ARG_OPT})
  if(ARG_NO_WERROR)
    target_compile_options(${name} PRIVATE -Wall -Wextra)
  else()
    target_compile_options(${name} PRIVATE ${EDGEAI_WARNINGS})
  endif()
  if(EDGEAI_TARGET_KIND STREQUAL "cortex-m")
    target_link_libraries(${name} PRIVATE edgeai_board m)  # libm: float kernels call nearbyintf, expf
    target_link_options(${name} PRIVATE
      "-L${EDGEAI_TARGETS_DIR}/common"
      "-T${_edgeai_tdir}/linker.ld"
      "-Wl,-Map=$<TARGET_FILE:${name}>.map")
    set_target_properties(${name} PROPERTIES SUFFIX ".elf" LINK_DEPENDS
      "${_edgeai_tdir}/linker.ld;${EDGEAI_TARGETS_DIR}/common/sections.ld")
  else()
    # Hosted: only the region markers (no-ops) come from targets/common.
    target_link_libraries(${name} PRIVATE m)
    # The link map attributes each linked byte to its object (edgeai/elfsize.py).
    target_link_options(${name} PRIVATE "-Wl,-Map=$<TARGET_FILE:${name}>.map")
    target_include_directories(${name} PRIVATE "${EDGEAI_TARGETS_DIR}/common")
    target_sources(${name} PRIVATE "${EDGEAI_TARGETS_DIR}/common/edgeai_marks.c")
  endif()
endfunction()
