# Runs EXE with ARGS ('|'-separated) and passes only when it exits with a non-zero status (not
# a crash) within TIMEOUT seconds (default 5) and its stdout + stderr match the regular
# expression EXPECT.
#   cmake -DEXE=<linear_2d> "-DARGS=--iterations|3.7" "-DEXPECT=--iterations" -P expect_failure.cmake
if(NOT DEFINED EXE OR NOT DEFINED EXPECT)
  message(FATAL_ERROR "expect_failure.cmake: EXE and EXPECT are required")
endif()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 5)
endif()
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${EXE} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT ${TIMEOUT})
set(all "${out}${err}")
if(NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "linear_2d ${ARGS}: did not exit normally (${rc}); output:\n${all}")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "linear_2d ${ARGS}: exited with 0, expected a failure; output:\n${all}")
endif()
if(NOT all MATCHES "${EXPECT}")
  message(FATAL_ERROR "linear_2d ${ARGS}: exit status ${rc} but the output does not match '${EXPECT}':\n${all}")
endif()
message(STATUS "linear_2d ${ARGS}: exit status ${rc}: ${all}")
