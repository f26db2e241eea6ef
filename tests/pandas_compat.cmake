# pandas compatibility of the CSV format, both ways (scripts/check_pandas_load.py): the
# research notebook's loader (pd.read_csv(path, index_col=0) + json.loads per cell) reads
# exactly what playaug writes, pandas rewrites it byte for byte, and playaug reads what
# pandas writes. Registered only when a python3 that imports pandas and numpy is found at
# configure time.

find_program(PLAYAUG_PYTHON3 NAMES python3 DOC "Python 3 interpreter for the pandas_compat test")
set(_playaug_have_pandas FALSE)
if(PLAYAUG_PYTHON3)
  execute_process(COMMAND ${PLAYAUG_PYTHON3} -c "import pandas, numpy"
                  RESULT_VARIABLE _playaug_pandas_rc OUTPUT_QUIET ERROR_QUIET)
  if(_playaug_pandas_rc EQUAL 0)
    set(_playaug_have_pandas TRUE)
  endif()
endif()

if(_playaug_have_pandas)
  add_executable(playaug_pandas_writer ${CMAKE_CURRENT_SOURCE_DIR}/pandas_writer.cpp)
  target_compile_options(playaug_pandas_writer PRIVATE -Wall -Wextra)
  target_link_libraries(playaug_pandas_writer PRIVATE playaug nlohmann_json::nlohmann_json)
  add_test(NAME pandas_compat
           COMMAND ${PLAYAUG_PYTHON3} ${PROJECT_SOURCE_DIR}/scripts/check_pandas_load.py
                   --tool $<TARGET_FILE:playaug_pandas_writer>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/pandas_compat)
  set_tests_properties(pandas_compat PROPERTIES LABELS cpu TIMEOUT 120)
else()
  message(STATUS "pandas_compat test disabled: no python3 that imports pandas and numpy")
endif()
