# fuzz_qp: the libFuzzer target (tests/fuzz/fuzz_qp.cpp: qp::DenseSolver and qp::Sensitivity
# against an independent KKT oracle) as a target of this build, for clang builds configured
# with -DRMPC_BUILD_FUZZ=ON and the sanitizers in CMAKE_CXX_FLAGS (CI's sanitizer build).
# scripts/run_fuzz.sh runs it when given RMPC_FUZZ_BIN, and otherwise compiles its own. Why
# here: built alone after the tests, its one file kept a core of the 2-core CI machine idle for
# 101 s; here it compiles beside the other targets.
option(RMPC_BUILD_FUZZ "Build the libFuzzer target fuzz_qp (clang; sanitizers from CMAKE_CXX_FLAGS)" OFF)
if(RMPC_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "RMPC_BUILD_FUZZ=ON needs clang (libFuzzer); the compiler is ${CMAKE_CXX_COMPILER_ID}")
  endif()
  add_executable(fuzz_qp ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_qp.cpp)
  target_link_libraries(fuzz_qp PRIVATE rmpc::rmpc)
  # -O1 in every configuration, as scripts/run_fuzz.sh compiles it: inputs per second are what
  # a fixed time of exploration buys.
  target_compile_options(fuzz_qp PRIVATE -O1 -fsanitize=fuzzer)
  target_link_options(fuzz_qp PRIVATE -fsanitize=fuzzer)
endif()
