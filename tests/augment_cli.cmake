# Behaviour of `playaug augment`: parameter errors (exit 2, no output file), data errors
# (exit 1, FILE:LINE, no output file), the output layout, and byte-identical output
# whatever the thread count, over an input of several chunks.
#
# This file plays two parts. Included by tests/CMakeLists.txt it registers the tests; run
# with `cmake -DCLI=... -DWORK=... -DCASE=... -P augment_cli.cmake` it performs one of them.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  if(TARGET playaug_cli)
    foreach(_case usage_errors data_errors layout determinism)
      add_test(NAME cli.augment_${_case}
               COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:playaug_cli>
                       -DWORK=${CMAKE_CURRENT_BINARY_DIR}/augment_cli/${_case} -DCASE=${_case}
                       -P ${CMAKE_CURRENT_LIST_FILE})
      set_tests_properties(cli.augment_${_case} PROPERTIES LABELS "cpu;cli" TIMEOUT 300)
    endforeach()
  endif()
  return()
endif()

# ---- script mode ---------------------------------------------------------------------------

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# A small input: two playlists with songs, one [null] playlist between them.
file(WRITE "${WORK}/in.csv"
",moods_states,features\n"
"iso26,\"[[22], [20]]\",\"[[0.755, 0.479, 0.154, 0.0261, 2, 0.11, -15.05, 1, 0.05, 120.5, 0.3], [0.455, 0.674, 0.615, 0.00091, 0, 0.208, -8.1, 0, 0.04, 99.0, 0.9]]\"\n"
"empty1,\"[[3]]\",[null]\n"
"iso30,\"[[19, 1, 9], [6, 21, 25]]\",\"[[0.907, 0.23, 0.159, 0.924, 5, 0.102, -16.315, 1, 0.03, 80.0, 0.1]]\"\n")

# run(<expected exit code> args...): runs the CLI, leaves OUT and ERR set.
function(run expected)
  execute_process(COMMAND "${CLI}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "${expected}")
    message(FATAL_ERROR "playaug ${ARGN}: exit code ${rc}, expected ${expected}\nstdout: ${out}\nstderr: ${err}")
  endif()
  set(OUT "${out}" PARENT_SCOPE)
  set(ERR "${err}" PARENT_SCOPE)
endfunction()

function(expect_contains text what)
  string(FIND "${text}" "${what}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "expected to find '${what}' in:\n${text}")
  endif()
endfunction()

function(expect_no_file path)
  if(EXISTS "${path}")
    message(FATAL_ERROR "${path} exists after a failed run")
  endif()
  # Nor a temporary file beside it.
  file(GLOB leftovers "${WORK}/.*tmp*")
  if(leftovers)
    message(FATAL_ERROR "temporary files left behind: ${leftovers}")
  endif()
endfunction()

if(CASE STREQUAL "usage_errors")
  set(out "${WORK}/out.csv")
  # Each bad parameter: exit 2, a message naming the option, no output file.
  foreach(bad "--protuberance;1" "--protuberance;1.5" "--protuberance;-0.1" "--protuberance;nan"
              "--phi;1.01" "--phi;-0.5" "--phi;nan" "--reverse;2" "--reverse;-0.01" "--reverse;nan"
              "--copies;-1" "--copies;16777216")
    list(GET bad 0 option)
    run(2 augment "${WORK}/in.csv" -o "${out}" ${bad})
    expect_contains("${ERR}" "${option}")
    expect_no_file("${out}")
    # Parameters are checked before anything is opened: a missing input is not reached.
    run(2 augment "${WORK}/missing.csv" -o "${out}" ${bad})
    expect_contains("${ERR}" "${option}")
    expect_no_file("${out}")
  endforeach()
  # Malformed values and missing arguments are parse errors (exit 2 too).
  run(2 augment "${WORK}/in.csv" -o "${out}" --copies two)
  run(2 augment "${WORK}/in.csv" -o "${out}" --seed -1)
  run(2 augment "${WORK}/in.csv")
  run(2 augment -o "${out}")
  run(2 augment "${WORK}/in.csv" -o "${out}" --device tpu)
  expect_no_file("${out}")
  # The boundaries themselves are accepted.
  run(0 augment "${WORK}/in.csv" -o "${out}" --protuberance 0 --phi 0 --reverse 0 --copies 0 --quiet)
  run(0 augment "${WORK}/in.csv" -o "${out}" --protuberance 0.999 --phi 1 --reverse 1 --quiet)

elseif(CASE STREQUAL "data_errors")
  set(out "${WORK}/out.csv")
  file(WRITE "${WORK}/bad.csv"
    ",moods_states,features\n"
    "ok1,\"[[1]]\",\"[[0.5, 2]]\"\n"
    "bad2,\"[[1]]\",\"[[0.5, oops]]\"\n")
  run(1 augment "${WORK}/bad.csv" -o "${out}" --quiet)
  expect_contains("${ERR}" "${WORK}/bad.csv:3")
  expect_no_file("${out}")
  run(1 augment "${WORK}/missing.csv" -o "${out}" --quiet)
  expect_contains("${ERR}" "missing.csv")
  expect_no_file("${out}")
  # An existing output survives a failed run untouched.
  file(WRITE "${out}" "precious\n")
  run(1 augment "${WORK}/bad.csv" -o "${out}" --quiet)
  file(READ "${out}" kept)
  if(NOT kept STREQUAL "precious\n")
    message(FATAL_ERROR "a failed run changed ${out}")
  endif()

elseif(CASE STREQUAL "layout")
  run(0 augment "${WORK}/in.csv" -o "${WORK}/out.csv" --copies 2 --seed 5 --quiet)
  if(NOT OUT STREQUAL "" OR NOT ERR STREQUAL "")
    message(FATAL_ERROR "augment --quiet printed something:\n${OUT}\n${ERR}")
  endif()
  file(STRINGS "${WORK}/out.csv" lines)
  set(ids "")
  list(GET lines 0 header)
  expect_contains("${header}" ",moods_states,features")
  list(SUBLIST lines 1 -1 rows)
  foreach(line IN LISTS rows)
    string(FIND "${line}" "," comma)
    string(SUBSTRING "${line}" 0 ${comma} id)
    list(APPEND ids "${id}")
  endforeach()
  set(want "iso26;iso26#aug1;iso26#aug2;empty1;iso30;iso30#aug1;iso30#aug2")
  if(NOT ids STREQUAL want)
    message(FATAL_ERROR "ids ${ids}, expected ${want}")
  endif()
  list(GET lines 4 null_line)
  if(NOT null_line MATCHES "^empty1,.*\\[null\\]$")
    message(FATAL_ERROR "[null] playlist not passed through: ${null_line}")
  endif()
  # The original rows keep their values.
  list(GET lines 5 orig)
  expect_contains("${orig}" "0.907, 0.23, 0.159, 0.924")

  run(0 augment "${WORK}/in.csv" -o "${WORK}/copies.csv" --copies 1 --no-original --quiet)
  file(STRINGS "${WORK}/copies.csv" lines)
  set(ids "")
  list(GET lines 0 header)
  expect_contains("${header}" ",moods_states,features")
  list(SUBLIST lines 1 -1 rows)
  foreach(line IN LISTS rows)
    string(FIND "${line}" "," comma)
    string(SUBSTRING "${line}" 0 ${comma} id)
    list(APPEND ids "${id}")
  endforeach()
  if(NOT ids STREQUAL "iso26#aug1;empty1;iso30#aug1")
    message(FATAL_ERROR "--no-original ids: ${ids}")
  endif()

  # --copies 0 writes the input back, playlist for playlist.
  run(0 augment "${WORK}/in.csv" -o "${WORK}/same.csv" --copies 0 --quiet)
  file(STRINGS "${WORK}/same.csv" lines)
  list(LENGTH lines n)
  if(NOT n EQUAL 4)
    message(FATAL_ERROR "--copies 0 wrote ${n} lines")
  endif()

elseif(CASE STREQUAL "determinism")
  # About 200k songs, so that the input is read in several chunks.
  run(0 synth -o "${WORK}/big.csv" --playlists 16000 --min-songs 4 --max-songs 20 --seed 3
      --empty-fraction 0.05 --quiet)
  foreach(threads 1 2 5)
    run(0 augment "${WORK}/big.csv" -o "${WORK}/t${threads}.csv" --copies 2 --seed 11 --threads ${threads}
        --device cpu --quiet)
    file(SHA256 "${WORK}/t${threads}.csv" h${threads})
  endforeach()
  if(NOT h1 STREQUAL h2 OR NOT h1 STREQUAL h5)
    message(FATAL_ERROR "augment output depends on --threads: ${h1} ${h2} ${h5}")
  endif()
  # Another seed gives another file; the same seed the same one.
  run(0 augment "${WORK}/big.csv" -o "${WORK}/s12.csv" --copies 2 --seed 12 --threads 2 --device cpu --quiet)
  file(SHA256 "${WORK}/s12.csv" h12)
  if(h12 STREQUAL h1)
    message(FATAL_ERROR "--seed has no effect")
  endif()
  file(REMOVE_RECURSE "${WORK}")

else()
  message(FATAL_ERROR "unknown CASE '${CASE}'")
endif()
