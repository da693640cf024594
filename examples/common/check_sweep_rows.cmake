# Shared by the examples' check_sweep.cmake (include()d): a sweep's rows are the single runs.
# rmpc_check_sweep_rows(<rows> <final_regex> <single-run arguments...>)
#   rows: the sweep.csv rows of seeds 0 and 1 (method,seed,status,final_cost,...), in seed order;
#   final_regex: a regex whose first group is the final cost a single run prints (%.17g);
#   for seeds 0 and 1, runs `${EXE} --seed S --threads 1 <arguments>` and requires its printed
#   final cost to equal the row's final_cost digit for digit (determinism: same seed, same run,
#   any thread count).
function(rmpc_check_sweep_rows rows final_regex)
  get_filename_component(exe_name ${EXE} NAME)
  foreach(seed 0 1)
    execute_process(COMMAND ${EXE} --seed ${seed} --threads 1 ${ARGN}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${exe_name} --seed ${seed} failed (${rc}):\n${out}${err}")
    endif()
    if(NOT out MATCHES "${final_regex}")
      message(FATAL_ERROR "${exe_name} --seed ${seed} printed no final cost:\n${out}")
    endif()
    set(single "${CMAKE_MATCH_1}")
    list(GET rows ${seed} row)
    string(REPLACE "," ";" fields "${row}")
    list(GET fields 3 swept)  # method,seed,status,final_cost,...
    if(NOT swept STREQUAL single)
      message(FATAL_ERROR "seed ${seed}: sweep final_cost ${swept}, single run ${single}")
    endif()
    message(STATUS "seed ${seed}: final cost ${single} in both")
  endforeach()
endfunction()
