# ctest example_linear_2d_diagnose: --diagnose FILE writes one CSV row per new model with the
# comparison filled in (rl/model_diagnosis.hpp), and the run is the one without --diagnose
# (the same JSON summary, digit for digit).
# cmake -DEXE=<linear_2d> -DDIR=<scratch dir> -P check_diagnose.cmake
# Two iterations of two episodes: one model (a minute under the sanitizers with 3 x 4).
set(common --method tr-qn --iterations 2 --episodes 2 --critic-epochs 3 --first-epochs 5 --seed 7
           --quiet)
file(MAKE_DIRECTORY ${DIR})
foreach(run plain diagnosed)
  set(extra)
  if(run STREQUAL diagnosed)
    set(extra --diagnose ${DIR}/diagnosis.csv)
  endif()
  execute_process(COMMAND ${EXE} ${common} --json ${DIR}/${run}.json ${extra}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "linear_2d ${run} failed (${rc}):\n${out}")
  endif()
endforeach()
file(READ ${DIR}/plain.json plain)
file(READ ${DIR}/diagnosed.json diagnosed)
include(${CMAKE_CURRENT_LIST_DIR}/require_same_json.cmake)
require_same_json("${plain}" "${diagnosed}" "without --diagnose" "with it"
                  KEYS theta best_cost status)
file(STRINGS ${DIR}/diagnosis.csv lines)
list(LENGTH lines n)
if(n LESS 2)
  message(FATAL_ERROR "diagnosis.csv has ${n} lines, expected a header and a row per model")
endif()
list(GET lines 0 header)
if(NOT header MATCHES "^iteration,samples,skipped,dq_relative_error,.*cosine_episode_closed_loop$")
  message(FATAL_ERROR "diagnosis.csv header: ${header}")
endif()
list(GET lines 1 row)
string(REPLACE "," ";" fields "${row}")
list(LENGTH fields nf)
if(NOT nf EQUAL 16)
  message(FATAL_ERROR "diagnosis.csv row has ${nf} fields, expected 16: ${row}")
endif()
list(GET fields 1 samples)
if(NOT samples GREATER 0 OR row MATCHES "nan")
  message(FATAL_ERROR "diagnosis.csv row without a comparison: ${row}")
endif()
