# Embeds the ops UI files (this directory) into tc_core as C arrays.
#
# Included from core/CMakeLists.txt after tc_core is defined: adds a build
# step that regenerates ${CMAKE_CURRENT_BINARY_DIR}/ops_ui_assets.c whenever
# a UI file changes, and adds that file to tc_core. Run with `cmake -P` (by
# that build step) it writes the C file: one array per file plus the
# tc_ui_assets table declared in core/ops/ui_assets.h.
if(CMAKE_SCRIPT_MODE_FILE)
  # Script mode: -DTC_UI_OUT=<c file> -DTC_UI_FILES=<a|b|...>
  string(REPLACE "|" ";" TC_UI_FILES "${TC_UI_FILES}")
  set(out "/* Generated from core/ops/ui by embed.cmake; do not edit. */\n")
  string(APPEND out "#include \"ops/ui_assets.h\"\n\n")
  set(table "")
  set(index 0)
  foreach(path IN LISTS TC_UI_FILES)
    get_filename_component(name "${path}" NAME)
    file(READ "${path}" hex HEX)
    string(LENGTH "${hex}" hex_len)
    math(EXPR size "${hex_len} / 2")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    # Wrap the initializer every 16 bytes to keep lines short (CMake
    # regexes have no {n} repetition: spell the 16 bytes out).
    string(REPEAT "0x[0-9a-f][0-9a-f]," 16 row)
    string(REGEX REPLACE "(${row})" "\\1\n  " bytes "${bytes}")
    if(size EQUAL 0)
      set(bytes "0x00")
    endif()
    string(APPEND out "static const unsigned char asset_${index}[] = {\n  ${bytes}\n};\n")
    string(APPEND table "  {\"${name}\", asset_${index}, ${size}u},\n")
    math(EXPR index "${index} + 1")
  endforeach()
  string(APPEND out "\nconst struct tc_ui_asset tc_ui_assets[] = {\n${table}};\n")
  string(APPEND out "const size_t tc_ui_asset_count = ${index}u;\n")
  file(WRITE "${TC_UI_OUT}.tmp" "${out}")
  file(RENAME "${TC_UI_OUT}.tmp" "${TC_UI_OUT}")
  return()
endif()

file(GLOB TC_UI_FILES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_LIST_DIR}/*.html
  ${CMAKE_CURRENT_LIST_DIR}/*.js
  ${CMAKE_CURRENT_LIST_DIR}/*.css
  ${CMAKE_CURRENT_LIST_DIR}/*.svg)
list(SORT TC_UI_FILES)
string(REPLACE ";" "|" tc_ui_files_arg "${TC_UI_FILES}")
set(TC_UI_ASSETS_C ${CMAKE_CURRENT_BINARY_DIR}/ops_ui_assets.c)
add_custom_command(
  OUTPUT ${TC_UI_ASSETS_C}
  COMMAND ${CMAKE_COMMAND} "-DTC_UI_OUT=${TC_UI_ASSETS_C}"
          "-DTC_UI_FILES=${tc_ui_files_arg}"
          -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${TC_UI_FILES} ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  COMMENT "Embedding the ops UI files"
  VERBATIM)
target_sources(tc_core PRIVATE ${TC_UI_ASSETS_C})
