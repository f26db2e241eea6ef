# The command-line tool maps no CUDA library unless it computes on a GPU: it does not
# link any (readelf), and `--version`, `info`, and `fit-pca` with --device cpu and (on a
# machine without a GPU) --device auto load none at run time (the dynamic loader's
# LD_DEBUG=files trace). In a CUDA build the engine library sits beside the tool and
# exports its entry point.
#
# Included by tests/CMakeLists.txt, this file registers the test; run with `cmake -P`,
# it performs it.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  if(TARGET playaug_cli)
    set(_engine "")
    if(TARGET playaug_cuda)
      set(_engine $<TARGET_FILE:playaug_cuda>)
    endif()
    add_test(NAME cli.no_cuda_without_gpu
             COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:playaug_cli> -DENGINE=${_engine}
                     -DSAMPLE=${PROJECT_SOURCE_DIR}/data/sample/playlists.csv
                     -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/no-cuda-test -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(cli.no_cuda_without_gpu PROPERTIES LABELS "cpu;cli" TIMEOUT 300)
  endif()
  return()
endif()

set(cuda_libs libcudart libcusolver libcurand libcublas libplayaug_cuda)

function(fail what)
  message(FATAL_ERROR "no-cuda test: ${what}")
endfunction()

find_program(READELF readelf)
if(READELF)
  execute_process(COMMAND ${READELF} -d ${CLI} OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("readelf -d ${CLI} failed")
  endif()
  foreach(lib ${cuda_libs})
    if(dyn MATCHES "NEEDED[^\n]*${lib}")
      fail("${CLI} links ${lib}:\n${dyn}")
    endif()
  endforeach()
  message(STATUS "no-cuda test: the tool links no CUDA library")
else()
  message(STATUS "no-cuda test: readelf not found, link check skipped")
endif()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Is there a GPU? Then --device auto uses it, and loading the engine is right.
execute_process(COMMAND ${CLI} fit-pca ${SAMPLE} -o ${WORK_DIR}/probe.json --device cuda
                RESULT_VARIABLE gpu_rc OUTPUT_QUIET ERROR_QUIET)

set(runs "--version" "info|${SAMPLE}" "fit-pca|${SAMPLE}|-o|${WORK_DIR}/m.json|--device|cpu")
if(NOT gpu_rc EQUAL 0)
  list(APPEND runs "fit-pca|${SAMPLE}|-o|${WORK_DIR}/m.json|--device|auto")
else()
  message(STATUS "no-cuda test: a GPU is present; --device auto is not checked")
endif()

set(ENV{LD_DEBUG} files)
foreach(run ${runs})
  string(REPLACE "|" ";" args "${run}")
  execute_process(COMMAND ${CLI} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE trace)
  if(NOT rc EQUAL 0)
    fail("playaug ${args} exited with ${rc}:\n${out}")
  endif()
  if(NOT trace MATCHES "calling init")
    fail("the loader trace (LD_DEBUG=files) is empty; cannot check what playaug ${args} loads")
  endif()
  foreach(lib ${cuda_libs})
    if(trace MATCHES "(file=|calling init: )[^\n]*${lib}")
      fail("playaug ${args} loaded ${lib}")
    endif()
  endforeach()
  message(STATUS "no-cuda test: playaug ${args}: no CUDA library loaded")
endforeach()
unset(ENV{LD_DEBUG})

if(ENGINE)
  get_filename_component(cli_dir ${CLI} DIRECTORY)
  get_filename_component(engine_dir ${ENGINE} DIRECTORY)
  if(NOT cli_dir STREQUAL engine_dir)
    fail("the engine ${ENGINE} is not beside the tool ${CLI}")
  endif()
  if(READELF)
    execute_process(COMMAND ${READELF} --dyn-syms -W ${ENGINE} OUTPUT_VARIABLE syms)
    if(NOT syms MATCHES "GLOBAL[^\n]*playaug_cuda_engine_v1")
      fail("${ENGINE} does not export playaug_cuda_engine_v1")
    endif()
    execute_process(COMMAND ${READELF} -d ${ENGINE} OUTPUT_VARIABLE edyn)
    if(NOT edyn MATCHES "NEEDED[^\n]*libcusolver")
      fail("${ENGINE} does not link cuSOLVER:\n${edyn}")
    endif()
    message(STATUS "no-cuda test: the engine exports its entry point and links cuSOLVER")
  endif()
endif()
file(REMOVE_RECURSE ${WORK_DIR})
