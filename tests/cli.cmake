# Behaviour of the playaug command-line tool, one script per topic in tests/cli/, each run
# as `SCRIPT PLAYAUG_EXECUTABLE SOURCE_DIR`:
#   version_and_help, exit_codes, info_text, synth_determinism   the basics
#   readme_examples                                              the README's exact outputs
#   messages, model_checks       escaped and cut echoes, range errors, one message style,
#                                synth --device, transform's checks of the model
#   output_files, output_signals outputs never hurt the user's files (special files,
#                                permissions, output equal to an input; signals)
#   io_limits, io_memory         the record cap, directories, UTF-8 ids, huge records
#   info_json                    info --json against Python's json
#   pca_aggregate                fit-pca --per-playlist --aggregate: options, model, table
#   synth_model                  fit-synth, synth --model / --like
if(TARGET playaug_cli)
  find_package(Python3 COMPONENTS Interpreter)
  set(_cli_dir ${CMAKE_CURRENT_LIST_DIR}/cli)
  # NAME or NAME:TIMEOUT (seconds; default 120) of each tests/cli/NAME.sh.
  set(_cli_scripts version_and_help exit_codes info_text synth_determinism readme_examples
                   messages model_checks output_files:300 output_signals:300 pca_aggregate
                   synth_model)
  if(Python3_Interpreter_FOUND)
    list(APPEND _cli_scripts io_limits:300)  # uses python3 for its probes
  endif()
  foreach(_entry IN LISTS _cli_scripts)
    string(REPLACE ":" ";" _parts "${_entry}")
    list(GET _parts 0 _name)
    list(LENGTH _parts _n)
    set(_timeout 120)
    if(_n GREATER 1)
      list(GET _parts 1 _timeout)
    endif()
    add_test(NAME cli.${_name}
             COMMAND bash ${_cli_dir}/${_name}.sh $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.${_name} PROPERTIES LABELS "cpu;cli" TIMEOUT ${_timeout})
  endforeach()
  if(Python3_Interpreter_FOUND)
    add_test(NAME cli.info_json
             COMMAND ${Python3_EXECUTABLE} ${_cli_dir}/info_json.py $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.info_json PROPERTIES LABELS "cpu;cli" TIMEOUT 120)
    # Peak memory means nothing under AddressSanitizer (shadow memory, quarantine).
    if(NOT PLAYAUG_SANITIZE)
      add_test(NAME cli.io_memory
               COMMAND ${Python3_EXECUTABLE} ${_cli_dir}/io_memory.py $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
      set_tests_properties(cli.io_memory PROPERTIES LABELS "cpu;cli" TIMEOUT 300)
    endif()
  endif()
endif()
