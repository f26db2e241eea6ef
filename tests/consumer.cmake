# The installed package works for an outside project, wherever it is moved: install this
# build tree to a temporary prefix, check that its CMake files name no path of this
# machine (dependencies are imported targets found by find_dependency) and no empty
# $<LINK_ONLY:>, move the prefix elsewhere, configure and build tests/consumer against the
# moved tree with find_package(playaug), and run the result. With the CUDA engine the
# consumer also builds (and, on a GPU, runs) the README's device-memory snippet.
#
# Included by tests/CMakeLists.txt, this file registers the test; run with `cmake -P`,
# it performs it.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(_consumer_args
      -DBUILD_DIR=${PROJECT_BINARY_DIR}
      -DSOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}/consumer
      -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer-test
      -DGENERATOR=${CMAKE_GENERATOR}
      -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
      -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
      -DSAMPLE=${PROJECT_SOURCE_DIR}/data/sample/playlists.csv)
  if(PLAYAUG_SANITIZE)
    list(APPEND _consumer_args "-DEXTRA_FLAGS=-fsanitize=address,undefined")
  endif()
  if(PLAYAUG_ENABLE_CUDA AND CUDAToolkit_BIN_DIR)
    get_filename_component(_cuda_root ${CUDAToolkit_BIN_DIR} DIRECTORY)
    list(APPEND _consumer_args -DCUDA_ROOT=${_cuda_root})
  endif()
  add_test(NAME consumer.find_package
           COMMAND ${CMAKE_COMMAND} ${_consumer_args} -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(consumer.find_package PROPERTIES LABELS "cpu;consumer" TIMEOUT 600)
  return()
endif()

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: ${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "consumer test: ${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
if(NOT EXISTS ${prefix}/include/playaug/dataset.hpp OR NOT EXISTS ${prefix}/include/playaug/version.hpp)
  message(FATAL_ERROR "consumer test: the installed tree lacks the public headers")
endif()

file(GLOB_RECURSE package_files ${prefix}/*.cmake)
if(NOT package_files)
  message(FATAL_ERROR "consumer test: the installed tree has no CMake package files")
endif()
foreach(f ${package_files})
  file(READ ${f} text)
  foreach(forbidden "$<LINK_ONLY:>" "${prefix}" "${BUILD_DIR}" "${SOURCE_DIR}" "/usr/")
    string(FIND "${text}" "${forbidden}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "consumer test: ${f} contains '${forbidden}', so the package cannot move:\n${text}")
    endif()
  endforeach()
endforeach()
message(STATUS "consumer test: package files name no machine path: ok")

set(moved ${WORK_DIR}/moved/elsewhere)
file(MAKE_DIRECTORY ${WORK_DIR}/moved)
file(RENAME ${prefix} ${moved})
set(prefix ${moved})

set(configure ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
if(EXTRA_FLAGS)
  list(APPEND configure -DCMAKE_CXX_FLAGS=${EXTRA_FLAGS} -DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS})
endif()
if(CUDA_ROOT)
  list(APPEND configure -DCUDAToolkit_ROOT=${CUDA_ROOT})
endif()
step("configure" ${configure})
step("build" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step("run" ${WORK_DIR}/build/playaug_consumer ${SAMPLE})
message(STATUS "consumer output:\n${step_output}")
if(NOT step_output MATCHES "consumer: ok")
  message(FATAL_ERROR "consumer test: the consumer did not report success")
endif()
file(READ ${WORK_DIR}/build/CMakeCache.txt cache)
if(cache MATCHES "playaug_DIR:PATH=([^\n]*)")
  if(NOT CMAKE_MATCH_1 MATCHES "^${moved}")
    message(FATAL_ERROR "consumer test: the consumer found playaug at ${CMAKE_MATCH_1}, not in the moved tree")
  endif()
endif()
if(CUDA_ROOT)
  # The consumer finds the moved tree's CUDA engine through its RUNPATH (set by the package).
  find_program(READELF readelf)
  if(READELF)
    execute_process(COMMAND ${READELF} -d ${WORK_DIR}/build/playaug_consumer OUTPUT_VARIABLE dyn)
    if(NOT dyn MATCHES "(RUNPATH|RPATH)[^\n]*${moved}/")
      message(FATAL_ERROR "consumer test: the consumer's RUNPATH does not lead to the moved engine:\n${dyn}")
    endif()
    message(STATUS "consumer test: the consumer's RUNPATH leads to the moved engine: ok")
  endif()
endif()
if(EXISTS ${WORK_DIR}/build/playaug_consumer_device)
  step("run the device snippet" ${WORK_DIR}/build/playaug_consumer_device)
  message(STATUS "consumer device output:\n${step_output}")
  if(NOT step_output MATCHES "consumer-device: ok")
    message(FATAL_ERROR "consumer test: the device snippet did not report success")
  endif()
elseif(CUDA_ROOT)
  message(FATAL_ERROR "consumer test: a CUDA build's consumer did not build the device snippet")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
