# Runs EXE with ARGS ('|'-separated) on 1 and on 3 threads: the outputs must be identical.
#   cmake -DEXE=<two_mass> "-DARGS=--evaluate|..." -P check_threads.cmake
string(REPLACE "|" ";" args "${ARGS}")
foreach(t 1 3)
  execute_process(COMMAND ${EXE} ${args} --threads ${t} RESULT_VARIABLE rc OUTPUT_VARIABLE out_${t} TIMEOUT 100)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "two_mass ${ARGS} --threads ${t}: exit status ${rc}:\n${out_${t}}")
  endif()
endforeach()
if(NOT out_1 STREQUAL out_3)
  message(FATAL_ERROR "1 and 3 threads differ:\n${out_1}\n---\n${out_3}")
endif()
message(STATUS "1 and 3 threads agree:\n${out_1}")
