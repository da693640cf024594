# cmake -P driver of the ctest "example_template_readme": the README's "Your own system" code
# block must be examples/template/main.cpp, character for character, so that what a reader
# copies is what CI builds and runs. Inputs (-D): README, SOURCE, WORK_DIR.
cmake_minimum_required(VERSION 3.16)

set(begin_marker "<!-- examples/template/main.cpp: begin -->\n```cpp\n")
set(end_marker "```\n<!-- examples/template/main.cpp: end -->")
file(READ ${README} readme)
string(FIND "${readme}" "${begin_marker}" begin)
string(FIND "${readme}" "${end_marker}" end)
if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
  message(FATAL_ERROR "template test: ${README} lacks the markers around the template's code "
                      "block:\n${begin_marker}...\n${end_marker}")
endif()
string(LENGTH "${begin_marker}" begin_length)
math(EXPR begin "${begin} + ${begin_length}")
math(EXPR length "${end} - ${begin}")
string(SUBSTRING "${readme}" ${begin} ${length} block)

file(READ ${SOURCE} source)
if(NOT block STREQUAL source)
  file(MAKE_DIRECTORY ${WORK_DIR})
  file(WRITE ${WORK_DIR}/readme_block.cpp "${block}")
  message(FATAL_ERROR "template test: the README's code block differs from ${SOURCE}; copy the "
                      "file into the README (or the block into the file). The block is in "
                      "${WORK_DIR}/readme_block.cpp:\n  diff ${WORK_DIR}/readme_block.cpp ${SOURCE}")
endif()
