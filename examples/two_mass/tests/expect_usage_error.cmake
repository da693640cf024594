# Runs EXE with ARGS ('|'-separated): it must exit with status 2 (a bad command line) within
# 5 s and print a message matching EXPECT.
#   cmake -DEXE=<two_mass> "-DARGS=--iterations|2.5" "-DEXPECT=--iterations" -P expect_usage_error.cmake
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${EXE} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 5)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "two_mass ${ARGS}: exit status ${rc}, expected 2:\n${out}${err}")
endif()
string(FIND "${out}${err}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "two_mass ${ARGS}: the message does not contain '${EXPECT}':\n${out}${err}")
endif()
message(STATUS "two_mass ${ARGS}: ${err}")
