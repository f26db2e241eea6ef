# The installed package works for an outside project: install this build tree to a
# temporary prefix, configure and build tests/consumer against it with
# find_package(playaug), and run the result.
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
file(REMOVE_RECURSE ${WORK_DIR})
