# cmake -P driver of the ctest "example_template_installed": installs this build of rmpc into a
# scratch prefix, configures examples/template against that prefix alone (as a user's copy
# would be, with find_package(rmpc)), builds it with this build's compiler and flags, and runs
# it (it exits non-zero unless the loop ran and lowered the closed-loop cost).
# Inputs (-D): RMPC_BUILD_DIR, TEMPLATE_SOURCE_DIR, WORK_DIR, GENERATOR, CXX_COMPILER,
# CXX_FLAGS, CXX_FLAGS_BUILD_TYPE, EXE_LINKER_FLAGS, BUILD_TYPE, Eigen3_DIR.
cmake_minimum_required(VERSION 3.16)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "template test: ${what} failed (${rc})")
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(template_build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

run_step("cmake --install" ${CMAKE_COMMAND} --install ${RMPC_BUILD_DIR} --prefix ${prefix})

set(build_type ${BUILD_TYPE})
if(NOT build_type)
  set(build_type Release)
endif()
string(TOUPPER ${build_type} build_type_upper)
# Eigen3_DIR only where this build was given a non-default one; the installed rmpcConfig.cmake
# must find Eigen (and OpenMP) by itself otherwise.
set(eigen_hint)
if(Eigen3_DIR)
  set(eigen_hint -DEigen3_DIR=${Eigen3_DIR})
endif()
run_step("configuring examples/template"
  ${CMAKE_COMMAND} -S ${TEMPLATE_SOURCE_DIR} -B ${template_build} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
    ${eigen_hint}
    -DCMAKE_BUILD_TYPE=${build_type}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_CXX_FLAGS_${build_type_upper}=${CXX_FLAGS_BUILD_TYPE}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
file(STRINGS ${template_build}/CMakeCache.txt rmpc_dir_line REGEX "^rmpc_DIR:")
string(FIND "${rmpc_dir_line}" "${prefix}" in_prefix)
if(NOT in_prefix GREATER -1)
  message(FATAL_ERROR "template test: found rmpc outside the scratch prefix (${rmpc_dir_line})")
endif()
run_step("building examples/template" ${CMAKE_COMMAND} --build ${template_build} --config ${build_type})

find_program(template_exe my_rmpc_system PATHS ${template_build} ${template_build}/${build_type}
             NO_DEFAULT_PATH)
if(NOT template_exe)
  message(FATAL_ERROR "template test: no my_rmpc_system executable in ${template_build}")
endif()
run_step("running my_rmpc_system" ${template_exe})
