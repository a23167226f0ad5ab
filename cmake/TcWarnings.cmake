# Picky warnings, errors on gcc and clang alike.
add_compile_options(
  -Wall -Wextra -Werror
  -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
  -Wvla -Wformat=2 -Wundef -Wcast-qual -Wno-unused-parameter)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wlogical-op -Wduplicated-cond)
endif()
