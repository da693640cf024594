# ctest example_linear_2d_resume: a run saved with --checkpoint after 2 iterations and
# continued with --resume to 4 must equal one run of 4 iterations (every iteration's record
# and the final summary, digit for digit as written); a changed setting is refused.
# cmake -DEXE=<linear_2d> -DDIR=<scratch dir> -P check_resume.cmake
set(common --method tr-qn --episodes 4 --critic-epochs 3 --first-epochs 5 --seed 7 --quiet)
file(MAKE_DIRECTORY ${DIR})
function(run_linear_2d)
  execute_process(COMMAND ${EXE} ${common} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "linear_2d ${ARGN} failed (${rc}):\n${out}")
  endif()
endfunction()
run_linear_2d(--iterations 4 --json ${DIR}/full.json)
run_linear_2d(--iterations 2 --checkpoint ${DIR}/run.ckpt.json)
run_linear_2d(--iterations 4 --resume ${DIR}/run.ckpt.json --json ${DIR}/resumed.json)
file(READ ${DIR}/full.json full)
file(READ ${DIR}/resumed.json resumed)
include(${CMAKE_CURRENT_LIST_DIR}/require_same_json.cmake)
require_same_json("${full}" "${resumed}" uninterrupted resumed
                  KEYS theta best_cost best_theta best_iteration status)
string(JSON n LENGTH "${resumed}" history)
if(NOT n EQUAL 4)
  message(FATAL_ERROR "the resumed run's history has ${n} iterations, expected 4 (0..3)")
endif()
foreach(i 0 1 2 3)
  foreach(key iteration theta theta_trial batch_cost ratio radius gradient_norm critic_epochs)
    string(JSON a GET "${full}" history ${i} ${key})
    string(JSON b GET "${resumed}" history ${i} ${key})
    if(NOT a STREQUAL b)
      message(FATAL_ERROR "iteration ${i} ${key}: uninterrupted ${a}, resumed ${b}")
    endif()
  endforeach()
endforeach()
# The settings are checked: a changed one fails before any training, naming it.
execute_process(COMMAND ${EXE} ${common} --iterations 4 --sigma 0.3 --resume ${DIR}/run.ckpt.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0 OR NOT out MATCHES "exploration.sigma")
  message(FATAL_ERROR "resume with another --sigma: exit ${rc}, expected a failure naming "
                      "exploration.sigma:\n${out}")
endif()
message(STATUS "resumed run equals the uninterrupted run")
