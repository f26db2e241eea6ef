# Behaviour of the playaug command-line tool: exit codes, --version/--help, info and synth.
# The scripts live in tests/cli/ and take the executable and the source directory.
if(TARGET playaug_cli)
  find_package(Python3 COMPONENTS Interpreter)
  set(_cli_dir ${CMAKE_CURRENT_LIST_DIR}/cli)
  foreach(_name version_and_help exit_codes info_text synth_determinism)
    add_test(NAME cli.${_name}
             COMMAND bash ${_cli_dir}/${_name}.sh $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.${_name} PROPERTIES LABELS "cpu;cli" TIMEOUT 120)
  endforeach()
  if(Python3_Interpreter_FOUND)
    add_test(NAME cli.info_json
             COMMAND ${Python3_EXECUTABLE} ${_cli_dir}/info_json.py $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.info_json PROPERTIES LABELS "cpu;cli" TIMEOUT 120)
  endif()
endif()

# The README's examples with exact output.
if(TARGET playaug_cli)
  add_test(NAME cli.readme_examples
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cli/readme_examples.sh $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
  set_tests_properties(cli.readme_examples PROPERTIES LABELS "cpu;cli" TIMEOUT 120)
endif()
