# Fails the build when a file breaks a layering rule — an upward include, a third-party
# header outside its place, a relative include, a stale table of public headers (the rules
# and their reasons are in ARCHITECTURE.md): cmake/check_layers.cmake runs before the
# libraries are compiled, and again whenever a source, a header or ARCHITECTURE.md changes.
file(GLOB_RECURSE lessmore_layered_files CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/include/lessmore/*.hpp ${PROJECT_SOURCE_DIR}/src/*.cpp ${PROJECT_SOURCE_DIR}/src/*.hpp
     ${PROJECT_SOURCE_DIR}/apps/*.cpp ${PROJECT_SOURCE_DIR}/apps/*.hpp
     ${PROJECT_SOURCE_DIR}/python/*.cpp ${PROJECT_SOURCE_DIR}/python/*.hpp)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/layers.checked
  COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
  COMMAND ${CMAKE_COMMAND} -E touch ${CMAKE_BINARY_DIR}/layers.checked
  DEPENDS ${lessmore_layered_files} ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake ${PROJECT_SOURCE_DIR}/ARCHITECTURE.md
  COMMENT "Checking the include layering (kernels -> io -> pipeline -> apps)"
  VERBATIM)
add_custom_target(lessmore_layers DEPENDS ${CMAKE_BINARY_DIR}/layers.checked)
