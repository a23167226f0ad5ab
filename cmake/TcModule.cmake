# tc_add_module(<name> SOURCES <file>... [LIBS <target>...])
#
# Builds <name>.so (no "lib" prefix, hidden visibility) loadable by
# tunnel-client. The directory name, the module's .name and the .so basename
# are the same. In the project tree the module also lands in the build tree's
# modules/ directory (so ./build/tunnel-client finds it) and is installed to
# the module directory; out of tree it links TunnelClient::sdk.
function(tc_add_module name)
  cmake_parse_arguments(TCM "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT TCM_SOURCES)
    message(FATAL_ERROR "tc_add_module(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${TCM_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_STANDARD 11
    C_VISIBILITY_PRESET hidden)
  if(TARGET tc_sdk)
    target_link_libraries(${name} PRIVATE tc_sdk)
  else()
    target_link_libraries(${name} PRIVATE TunnelClient::sdk)
  endif()
  if(TCM_LIBS)
    target_link_libraries(${name} PRIVATE ${TCM_LIBS})
  endif()
  if(TC_MODULE_BUILD_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${TC_MODULE_BUILD_DIR}")
  endif()
  if(TC_MODULE_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION "${TC_MODULE_INSTALL_DIR}")
  endif()
endfunction()
