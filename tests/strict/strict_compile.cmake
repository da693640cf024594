# Strict-compile tests (tests/strict/*.cpp): each file must compile with -std=c++17 -Wall
# -Wextra -Wpedantic -Werror (-fsyntax-only: templates are instantiated, no code is made) by
# clang++, so that what the library asks users to write (the instantiation macros) is standard
# C++, not a GCC extension: GCC accepts what clang -Wpedantic rejects, and the project's own
# build (GCC in CI) compiles the examples' use of the macros anyway. Without a clang++ on the
# machine there is no test (CI's fuzz phase needs one). Included from tests/CMakeLists.txt;
# about 8 s per file.
set(strict_dir ${CMAKE_CURRENT_LIST_DIR})
find_program(RMPC_CLANGXX NAMES clang++ clang++-18 clang++-17 clang++-16 clang++-15 clang++-14
             DOC "a second compiler for the strict-compile tests (optional)")
set(strict_compilers "")
if(RMPC_CLANGXX)
  list(APPEND strict_compilers "clang=${RMPC_CLANGXX}")
endif()
# rmpc_strict_compile(<file stem>): one ctest per compiler.
function(rmpc_strict_compile stem)
  if(NOT EXISTS ${strict_dir}/${stem}.cpp)
    message(FATAL_ERROR "rmpc_strict_compile: ${strict_dir}/${stem}.cpp does not exist")
  endif()
  foreach(entry IN LISTS strict_compilers)
    string(REPLACE "=" ";" pair "${entry}")
    list(GET pair 0 name)
    list(GET pair 1 compiler)
    set(eigen_dirs "$<TARGET_PROPERTY:Eigen3::Eigen,INTERFACE_INCLUDE_DIRECTORIES>")
    add_test(NAME strict_${name}_${stem}
             COMMAND ${compiler} -std=c++17 -Wall -Wextra -Wpedantic -Werror -fsyntax-only
                     -I${PROJECT_SOURCE_DIR}/include "-isystem$<JOIN:${eigen_dirs},;-isystem>"
                     ${strict_dir}/${stem}.cpp
             COMMAND_EXPAND_LISTS)
    set_tests_properties(strict_${name}_${stem} PROPERTIES LABELS strict TIMEOUT 120)
  endforeach()
endfunction()
rmpc_strict_compile(test_lq_mpc_instantiation)
