# Outputs never hurt the user's files: signals, output equal to an input, special files,
# permissions, standard output (tests/cli/output_*.sh).
if(TARGET playaug_cli)
  foreach(_name output_files output_signals)
    add_test(NAME cli.${_name}
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cli/${_name}.sh $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.${_name} PROPERTIES LABELS "cpu;cli" TIMEOUT 300)
  endforeach()
endif()
