# linear_2d_paper_mpc: the paper's MPC types compiled once per build (paper_model.hpp declares
# their heavy members `extern template`; one LqMpc costs about a minute of compiler time, split
# over two files that compile in parallel: rmpc/mpc/lq_mpc_instantiation.hpp). Included by
# the example, the tests and the benchmarks, whichever configure first defines it.
if(NOT TARGET linear_2d_paper_mpc)
  add_library(linear_2d_paper_mpc STATIC ${CMAKE_CURRENT_LIST_DIR}/paper_mpc_setup.cpp
                                         ${CMAKE_CURRENT_LIST_DIR}/paper_mpc_policy.cpp
                                         ${CMAKE_CURRENT_LIST_DIR}/benchmark_mpc.cpp)
  target_link_libraries(linear_2d_paper_mpc PUBLIC rmpc::rmpc)
  target_include_directories(linear_2d_paper_mpc PUBLIC ${CMAKE_CURRENT_LIST_DIR})
endif()
