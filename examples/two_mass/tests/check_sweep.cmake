# ctests of --sweep (tiny settings: seconds, not the study; the single runs compare with the
# smoke step's sweep rather than running one more, which keeps each step short under ASan).
#   STEP=smoke: --sweep 0 1 --jobs 2 writes sweep.csv with exactly 2 rows (seeds 0, 1 in that
#     order) carrying the gap closed, sweep_summary.txt, the plot's .dat and .gp, and one history
#     CSV per run, and prints the gap summary.
#   STEP=single (after smoke, same DIR): each row's final_cost of that 2-seed sweep on 2 threads
#     equals, digit for digit in %.17g, what the single run with that seed prints: a sweep row
#     is the run alone.
# cmake -DEXE=<two_mass> -DDIR=<scratch dir> -DSTEP=smoke|single -P check_sweep.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../../common/check_sweep_rows.cmake)
set(tiny --method tr-qn --iterations 3 --episodes 2 --quiet)  # both seeds leave theta0 here
if(NOT STEP MATCHES "^(smoke|single)$")
  message(FATAL_ERROR "check_sweep.cmake: STEP must be smoke or single")
endif()
if(STEP STREQUAL "smoke")
  file(REMOVE_RECURSE ${DIR})
  execute_process(COMMAND ${EXE} --sweep 0 1 --jobs 2 ${tiny} --out ${DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 100)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "two_mass --sweep 0 1 failed (${rc}):\n${out}")
  endif()
endif()
rmpc_read_sweep_rows(rows "${out}")  # the single step reads the smoke step's sweep
if(STEP STREQUAL "smoke")
  list(GET rows 0 first)
  list(GET rows 1 second)
  file(STRINGS ${DIR}/sweep.csv header REGEX "^method,")
  if(NOT header MATCHES ",it_50pct_gap,it_90pct_gap,.*,wall_s,gap_closed_pct,theta1,")
    message(FATAL_ERROR "${DIR}/sweep.csv: unexpected header:\n${header}")
  endif()
  if(NOT out MATCHES "closes >= 90 % of the gap: <= " OR NOT out MATCHES "median gap closed")
    message(FATAL_ERROR "--sweep printed no gap summary:\n${out}")
  endif()
  message(STATUS "${out}\nsweep.csv:\n${first}\n${second}")
else()  # single
  rmpc_check_sweep_rows("${rows}" "final theta, the loop's deterministic training cost: ([^\n]+)\n"
                        ${tiny} --test-episodes 0)
endif()
