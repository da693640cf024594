# Runs EXE with ARGS ('|'-separated): it must exit with status 0 within TIMEOUT seconds
# (default 250) and print a line matching the regular expression EXPECT. (ctest's
# PASS_REGULAR_EXPRESSION alone would ignore the exit status, e.g. a sanitizer's report at exit.)
#   cmake -DEXE=<two_mass> "-DARGS=--evaluate" "-DEXPECT=beats untrained" -P expect_output.cmake
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 250)
endif()
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${EXE} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${TIMEOUT})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "two_mass ${ARGS}: exit status ${rc}, expected 0:\n${out}${err}")
endif()
if(NOT "${out}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "two_mass ${ARGS}: the output does not match '${EXPECT}':\n${out}${err}")
endif()
message(STATUS "two_mass ${ARGS}:\n${out}")
