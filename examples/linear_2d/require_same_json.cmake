# require_same_json(<json a> <json b> <what a> <what b> KEYS k1 k2 ..): FATAL_ERROR naming the
# first top-level key whose value differs between the two JSON texts (digit for digit as
# written). Shared by check_resume.cmake and check_diagnose.cmake.
function(require_same_json json_a json_b what_a what_b)
  cmake_parse_arguments(ARG "" "" "KEYS" ${ARGN})
  foreach(key IN LISTS ARG_KEYS)
    string(JSON a GET "${json_a}" ${key})
    string(JSON b GET "${json_b}" ${key})
    if(NOT a STREQUAL b)
      message(FATAL_ERROR "${key}: ${what_a} ${a}, ${what_b} ${b}")
    endif()
  endforeach()
endfunction()
