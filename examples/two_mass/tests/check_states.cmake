# Regenerates the state sets into OUT and compares them byte for byte with the shipped DATA.
#   cmake -DEXE=<two_mass> -DOUT=<dir> -DDATA=<examples/two_mass/data> -P check_states.cmake
file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND ${EXE} --generate-states ${OUT} RESULT_VARIABLE rc TIMEOUT 20)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "two_mass --generate-states ${OUT} failed (${rc})")
endif()
foreach(name train_states.csv test_states.csv)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/${name} ${DATA}/${name} RESULT_VARIABLE diff)
  if(NOT diff EQUAL 0)
    message(FATAL_ERROR "${OUT}/${name} differs from the shipped ${DATA}/${name}")
  endif()
endforeach()
message(STATUS "the regenerated state sets equal the shipped ones")
