# cmake -P driver for the "install_consumer" ctest (registered in tests/install_test.cmake).
# Inputs (-D): RMPC_BUILD_DIR, RMPC_SOURCE_DIR, RMPC_VERSION, CONSUMER_SOURCE_DIR, WORK_DIR,
# GENERATOR, CXX_COMPILER, CXX_FLAGS, EXE_LINKER_FLAGS, BUILD_TYPE, Eigen3_DIR.
cmake_minimum_required(VERSION 3.16)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (${rc})")
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/consumer-build)
file(REMOVE_RECURSE ${WORK_DIR})

# 1. Install the build tree into a scratch prefix.
run_step("cmake --install" ${CMAKE_COMMAND} --install ${RMPC_BUILD_DIR} --prefix ${prefix})

# 2. The install holds the headers, the package files and the docs.
file(GLOB_RECURSE config_files ${prefix}/*/rmpcConfig.cmake)
list(LENGTH config_files n_configs)
if(NOT n_configs EQUAL 1)
  message(FATAL_ERROR "install test: expected one rmpcConfig.cmake under ${prefix}, got '${config_files}'")
endif()
get_filename_component(config_dir ${config_files} DIRECTORY)
foreach(f ${config_dir}/rmpcConfigVersion.cmake ${config_dir}/rmpcTargets.cmake
          ${prefix}/include/rmpc/rmpc.hpp ${prefix}/include/rmpc/qp/problem.hpp)
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "install test: missing ${f}")
  endif()
endforeach()
file(GLOB_RECURSE docs ${prefix}/*/doc/rmpc/LICENSE ${prefix}/*/doc/rmpc/README.md)
list(LENGTH docs n_docs)
if(NOT n_docs EQUAL 2)
  message(FATAL_ERROR "install test: LICENSE and README.md not installed under share/doc/rmpc (${docs})")
endif()
# The exported target must point into the prefix, never back at the source tree.
file(READ ${config_dir}/rmpcTargets.cmake targets_text)
string(FIND "${targets_text}" "${RMPC_SOURCE_DIR}" source_ref)
if(NOT source_ref EQUAL -1)
  message(FATAL_ERROR "install test: rmpcTargets.cmake refers to the source tree ${RMPC_SOURCE_DIR}")
endif()
if(NOT targets_text MATCHES "INTERFACE_INCLUDE_DIRECTORIES \"\\\${_IMPORT_PREFIX}/include\"")
  message(FATAL_ERROR "install test: rmpc::rmpc does not carry the installed include directory")
endif()

# 3. Version file: 0.1 matches 0.1.x, other minors/majors do not (SameMinorVersion), and a
# 32-bit consumer is not refused (ARCH_INDEPENDENT: header-only, nothing pointer-sized).
function(check_version requested sizeof_void_p expect_compatible)
  set(PACKAGE_FIND_VERSION ${requested})
  string(REPLACE "." ";" parts ${requested})
  list(GET parts 0 PACKAGE_FIND_VERSION_MAJOR)
  list(GET parts 1 PACKAGE_FIND_VERSION_MINOR)
  set(PACKAGE_FIND_VERSION_PATCH 0)
  set(CMAKE_SIZEOF_VOID_P ${sizeof_void_p})
  unset(PACKAGE_VERSION_COMPATIBLE)
  unset(PACKAGE_VERSION_UNSUITABLE)
  include(${config_dir}/rmpcConfigVersion.cmake)
  if(PACKAGE_VERSION_UNSUITABLE)
    message(FATAL_ERROR "install test: version file refuses a ${sizeof_void_p}-byte-pointer consumer (not ARCH_INDEPENDENT)")
  endif()
  if(NOT PACKAGE_VERSION STREQUAL RMPC_VERSION)
    message(FATAL_ERROR "install test: version file says ${PACKAGE_VERSION}, project is ${RMPC_VERSION}")
  endif()
  if(NOT "${PACKAGE_VERSION_COMPATIBLE}" STREQUAL "${expect_compatible}")
    message(FATAL_ERROR "install test: request ${requested}: compatible='${PACKAGE_VERSION_COMPATIBLE}', expected ${expect_compatible}")
  endif()
endfunction()
check_version(0.1 8 TRUE)
check_version(0.1 4 TRUE)
check_version(0.2 8 FALSE)
check_version(1.0 8 FALSE)

# 4. Configure, build and run the consumer against the prefix alone.
set(build_type ${BUILD_TYPE})
if(NOT build_type)
  set(build_type Release)
endif()
run_step("configuring tests/consumer"
  ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
    -DEigen3_DIR=${Eigen3_DIR}
    -DCMAKE_BUILD_TYPE=${build_type}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
file(STRINGS ${consumer_build}/CMakeCache.txt rmpc_dir_line REGEX "^rmpc_DIR:")
string(FIND "${rmpc_dir_line}" "${prefix}" in_prefix)
if(NOT in_prefix GREATER -1)
  message(FATAL_ERROR "install test: consumer found rmpc outside the scratch prefix (${rmpc_dir_line})")
endif()
run_step("building tests/consumer" ${CMAKE_COMMAND} --build ${consumer_build} --config ${build_type})

find_program(consumer_exe rmpc_consumer PATHS ${consumer_build} ${consumer_build}/${build_type}
             NO_DEFAULT_PATH)
if(NOT consumer_exe)
  message(FATAL_ERROR "install test: no rmpc_consumer executable in ${consumer_build}")
endif()
run_step("running rmpc_consumer" ${consumer_exe})
