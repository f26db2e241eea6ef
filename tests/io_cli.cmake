# Input limits of the command-line tool: the record cap, directories, UTF-8 ids, and the
# memory one huge record takes (tests/cli).
if(TARGET playaug_cli)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME cli.io_limits
             COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cli/io_limits.sh $<TARGET_FILE:playaug_cli> ${PROJECT_SOURCE_DIR})
    set_tests_properties(cli.io_limits PROPERTIES LABELS "cpu;cli" TIMEOUT 300)
    # Peak memory means nothing under AddressSanitizer (shadow memory, quarantine).
    if(NOT PLAYAUG_SANITIZE)
      add_test(NAME cli.io_memory
               COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/cli/io_memory.py $<TARGET_FILE:playaug_cli>
                       ${PROJECT_SOURCE_DIR})
      set_tests_properties(cli.io_memory PROPERTIES LABELS "cpu;cli" TIMEOUT 300)
    endif()
  endif()
endif()
