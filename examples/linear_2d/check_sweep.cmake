# ctests of --sweep (tiny settings: seconds, not the study).
#   STEP=smoke: --sweep 0 1 --jobs 2 writes sweep.csv with exactly 2 rows (seeds 0, 1 in that
#     order), sweep_summary.txt, the plot's .dat and .gp, and one history CSV per run.
#   STEP=single: a sweep of seeds 0, 1 with 5 iterations (both runs move away from theta0 there;
#     with 2 they stay at it) on 2 threads: each row's final_cost equals, digit for digit in
#     %.17g, what the single run with that seed (--threads 1) prints: a sweep row is the run
#     alone (determinism).
# cmake -DEXE=<linear_2d> -DDIR=<scratch dir> -DSTEP=smoke|single -P check_sweep.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../common/check_sweep_rows.cmake)
set(tiny --method tr-qn --episodes 4 --critic-epochs 3 --first-epochs 5 --quiet)
if(STEP STREQUAL "smoke")
  file(REMOVE_RECURSE ${DIR})
  execute_process(COMMAND ${EXE} --sweep 0 1 --jobs 2 --iterations 2 ${tiny} --out ${DIR}
                  RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "linear_2d --sweep 0 1 failed (${rc}):\n${out}")
  endif()
  rmpc_read_sweep_rows(rows "${out}")
  list(GET rows 0 first)
  list(GET rows 1 second)
  if(NOT out MATCHES "within 1 %")
    message(FATAL_ERROR "--sweep printed no summary:\n${out}")
  endif()
  message(STATUS "sweep.csv:\n${first}\n${second}")
elseif(STEP STREQUAL "single")
  file(REMOVE_RECURSE ${DIR})
  execute_process(COMMAND ${EXE} --sweep 0 1 --jobs 2 --iterations 5 ${tiny} --out ${DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "linear_2d --sweep 0 1 failed (${rc}):\n${out}")
  endif()
  rmpc_read_sweep_rows(rows "${out}")
  rmpc_check_sweep_rows("${rows}" "final theta \\(status [a-z_]+\\): deterministic cost ([^\n]+)\n"
                        --iterations 5 ${tiny})
else()
  message(FATAL_ERROR "check_sweep.cmake: STEP must be smoke or single")
endif()
