# Compile-fail tests (tests/compile_fail/*.cpp): each file must be rejected by one of the
# library's static_asserts on a user type (the MPC's model functor in detail/lq_mpc_setup.hpp,
# the environment in rl/environment.hpp), in a short error output.
# Included from tests/CMakeLists.txt. Each run is about a second (-fsyntax-only).
set(compile_fail_dir ${CMAKE_CURRENT_LIST_DIR})
# rmpc_compile_fail(<file stem> <text the output must contain>)
function(rmpc_compile_fail stem expect)
  add_test(NAME compile_fail_${stem}
           COMMAND ${CMAKE_COMMAND}
                   -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
                   "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
                   -DINCLUDE_DIR=${PROJECT_SOURCE_DIR}/include
                   "-DEIGEN_INCLUDE_DIRS=$<JOIN:$<TARGET_PROPERTY:Eigen3::Eigen,INTERFACE_INCLUDE_DIRECTORIES>,|>"
                   -DSOURCE=${compile_fail_dir}/${stem}.cpp
                   "-DEXPECT=${expect}"
                   -DMAX_LINES=30
                   -P ${compile_fail_dir}/check_compile_fail.cmake)
  set_tests_properties(compile_fail_${stem} PROPERTIES LABELS compile_fail TIMEOUT 120)
endfunction()
rmpc_compile_fail(wrong_nu "the model functor must be callable as model(theta, out)")
rmpc_compile_fail(not_template "the model functor must accept any scalar type T, not only double")
rmpc_compile_fail(non_const_environment "the environment must have const member functions step(s, a)")
