# ctest "install_consumer": installs this build tree into a scratch prefix and builds and runs
# tests/consumer against it with find_package(rmpc 0.1) (driver: tests/consumer/check_install.cmake).
# It catches broken install rules, headers missing from the install, a bad rmpcConfig.cmake
# and an architecture-dependent version file.
add_test(NAME install_consumer
  COMMAND ${CMAKE_COMMAND}
    -DRMPC_BUILD_DIR=${PROJECT_BINARY_DIR}
    -DRMPC_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DRMPC_VERSION=${PROJECT_VERSION}
    -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install_consumer
    -DGENERATOR=${CMAKE_GENERATOR}
    -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
    "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
    "-DEXE_LINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}"
    -DBUILD_TYPE=$<CONFIG>
    -DEigen3_DIR=${Eigen3_DIR}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/check_install.cmake)
set_tests_properties(install_consumer PROPERTIES LABELS install TIMEOUT 600)
