# cmake -P driver of the compile_fail_* ctests: SOURCE must NOT compile, and the compiler's
# output must contain EXPECT (LqMpc's static_assert sentence) in at most MAX_LINES lines, so
# that a wrong model functor costs the user one readable message, not pages of std::function
# and Eigen internals. Inputs (-D): CXX_COMPILER, CXX_FLAGS, INCLUDE_DIR, EIGEN_INCLUDE_DIRS
# (separated by |), SOURCE, EXPECT, MAX_LINES.
cmake_minimum_required(VERSION 3.16)

separate_arguments(flags UNIX_COMMAND "${CXX_FLAGS}")
string(REPLACE "|" ";" eigen_dirs "${EIGEN_INCLUDE_DIRS}")
set(includes -I${INCLUDE_DIR})
foreach(dir IN LISTS eigen_dirs)
  list(APPEND includes -isystem ${dir})
endforeach()
# -fsyntax-only: templates are still instantiated (the static_assert fires), no code is made.
execute_process(
  COMMAND ${CXX_COMPILER} ${flags} -std=c++17 -fsyntax-only ${includes} ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "compile-fail test: ${SOURCE} compiled, but it must be rejected")
endif()
string(FIND "${all}" "${EXPECT}" found)
if(found EQUAL -1)
  message(FATAL_ERROR "compile-fail test: the compiler's output lacks \"${EXPECT}\":\n${all}")
endif()
string(REGEX MATCHALL "\n" newlines "${all}")
list(LENGTH newlines lines)
if(lines GREATER MAX_LINES)
  message(FATAL_ERROR "compile-fail test: ${lines} lines of compiler output (at most ${MAX_LINES}): "
                      "something besides the static_assert reports the error:\n${all}")
endif()
message(STATUS "compile-fail test: rejected in ${lines} lines, with \"${EXPECT}\"")
