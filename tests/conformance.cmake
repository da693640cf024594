# rmpc_conformance: the acceptance runner of the QP solver and its sensitivities. It takes a
# directory of cases (default: the bundled copy of the conformance suite).
find_package(nlohmann_json 3 QUIET)
if(nlohmann_json_FOUND)
  add_executable(rmpc_conformance ${CMAKE_CURRENT_SOURCE_DIR}/conformance_main.cpp)
  target_link_libraries(rmpc_conformance PRIVATE rmpc::rmpc nlohmann_json::nlohmann_json)
  target_include_directories(rmpc_conformance PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(rmpc_conformance PRIVATE
    RMPC_CONFORMANCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data/conformance")
  add_test(NAME rmpc_conformance COMMAND rmpc_conformance)
else()
  message(WARNING "nlohmann_json not found: rmpc_conformance is not built")
endif()
