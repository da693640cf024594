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

# rmpc_read_sweep_rows(<rows var> <sweep output>): after `--sweep 0 1 --method tr-qn --out ${DIR}`,
# checks that every file the sweep writes exists and that sweep.csv has exactly the rows of
# seeds 0 and 1, in that order; sets <rows var> to them.
function(rmpc_read_sweep_rows rows_var out)
  foreach(f sweep.csv sweep_summary.txt sweep.dat sweep.gp tr-qn_seed0.csv tr-qn_seed1.csv)
    if(NOT EXISTS ${DIR}/${f})
      message(FATAL_ERROR "--sweep did not write ${DIR}/${f}:\n${out}")
    endif()
  endforeach()
  file(STRINGS ${DIR}/sweep.csv rows REGEX "^tr-qn,")
  list(LENGTH rows n)
  if(NOT n EQUAL 2)
    message(FATAL_ERROR "${DIR}/sweep.csv: ${n} rows, expected 2:\n${rows}")
  endif()
  list(GET rows 0 first)
  list(GET rows 1 second)
  if(NOT first MATCHES "^tr-qn,0," OR NOT second MATCHES "^tr-qn,1,")
    message(FATAL_ERROR "${DIR}/sweep.csv: rows not in seed order:\n${rows}")
  endif()
  set(${rows_var} "${rows}" PARENT_SCOPE)
endfunction()
