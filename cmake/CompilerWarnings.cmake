# Warnings for our own targets only (third-party headers are included as SYSTEM).
function(lessmore_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wcast-align -Woverloaded-virtual -Wno-unknown-pragmas)
  if(LESSMORE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
