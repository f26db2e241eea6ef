# What the tool says: escaped and cut echoes, range errors, one message style, help texts,
# synth --device, and transform's checks of the model against the data. The scripts live
# in tests/cli/ and take the executable and the source directory.
if(TARGET playaug_cli)
  foreach(_name messages model_checks)
    add_test(NAME cli.${_name}
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cli/${_name}.sh $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.${_name} PROPERTIES LABELS "cpu;cli" TIMEOUT 120)
  endforeach()
endif()
