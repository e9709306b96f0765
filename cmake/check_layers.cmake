# The layering rules (ARCHITECTURE.md, sections "Layers" and "Public headers by layer"):
# kernels -> io -> pipeline -> apps (and python/, the bindings, beside apps), includes only downward; third-party libraries only where
# ARCHITECTURE.md puts them. Run at configure time (cmake/Layering.cmake) and as tests on
# trees that break a rule (tests/data/layering/).
# Usage: cmake -DROOT=<source tree> -P cmake/check_layers.cmake
#
# Every file under include/lessmore, src/ and apps/ is scanned. A public header
# <lessmore/X.hpp> belongs to the layer of the source that defines it (src/<layer>/**/X.cpp;
# the header-only ones listed below belong to the kernels); it may include only standard
# headers and public headers of its own layer or below. Layers are included as
# "kernels/...", "io/...", "pipeline/..." or <lessmore/...>: an include containing ".." is
# refused wherever it points. When ROOT has an ARCHITECTURE.md, its table of public headers
# by layer must equal the layers found here, so the document cannot drift from the tree.
cmake_minimum_required(VERSION 3.20)
if(NOT ROOT)
  message(FATAL_ERROR "check_layers: give -DROOT=<source tree>")
endif()

set(header_only error image progress cancel)
set(layers kernels io pipeline apps python)
set(rank_kernels 1)
set(rank_io 2)
set(rank_pipeline 3)
set(rank_apps 4)
set(rank_python 4)  # python/src: the Python bindings, a top layer beside apps

# Third-party headers and where they may appear (a directory prefix or one file, relative to
# ROOT). Each entry: <regex on the include's name>@<what it is>@<allowed paths, comma-separated>.
set(third_party
    "^(itk|gdcm|vnl|vxl|nifti|itk_)[A-Za-z0-9_]*[.]h@ITK and GDCM@src/io/"
    "^zlib[.]h$@zlib@src/io/"
    "^(jpeglib|jerror|jconfig|jmorecfg)[.]h$@libjpeg@src/io/"
    "^isa-l/@ISA-L@src/io/deflate.cpp,src/io/gzip_stream.cpp"
    "^faiss/@FAISS@src/kernels/metrics/faiss_index.cpp"
    "^omp[.]h$@OpenMP@src/kernels/metrics/faiss_index.cpp"
    "^immintrin[.]h$@x86 intrinsics@src/kernels/metrics/hamming_index.cpp"
    "^CLI/@CLI11@apps/"
    "^pybind11/@pybind11@python/"
    "^spdlog/@spdlog@apps/"
    "^torch/@LibTorch@src/io/"
    "^onnx/@ONNX@src/io/")

set(problems "")

# Layer of each public header.
file(GLOB headers RELATIVE "${ROOT}/include/lessmore" "${ROOT}/include/lessmore/*.hpp")
foreach(h IN LISTS headers)
  string(REGEX REPLACE "\\.hpp$" "" name "${h}")
  file(GLOB_RECURSE defs RELATIVE "${ROOT}/src" "${ROOT}/src/*/${name}.cpp")
  if(defs)
    list(GET defs 0 def)
    string(REGEX MATCH "^[a-z]+" layer "${def}")
    set(layer_of_${name} ${layer})
  elseif(name IN_LIST header_only)
    set(layer_of_${name} kernels)
  else()
    string(APPEND problems "  include/lessmore/${h}: no src/<layer>/${name}.cpp defines it (public headers map one-to-one to sources)\n")
  endif()
  if(DEFINED layer_of_${name})
    list(APPEND public_${layer_of_${name}} ${name})
  endif()
endforeach()

# Checks one #include line of file `rel` in `layer`; `public` is TRUE for include/lessmore.
function(check_include rel layer public line)
  set(my_rank ${rank_${layer}})
  if(NOT line MATCHES "#[ \t]*include[ \t]*[<\"]([^>\"]*)[>\"]")
    return()
  endif()
  set(inc "${CMAKE_MATCH_1}")
  if(inc MATCHES "(^|/)[.][.](/|$)")
    string(APPEND problems "  ${rel}: includes \"${inc}\"; relative includes with .. are refused (include layers as \"io/...\" or <lessmore/...>)\n")
    set(problems "${problems}" PARENT_SCOPE)
    return()
  endif()
  set(target_rank 0)
  set(what "")
  if(inc MATCHES "^lessmore/([a-z0-9_]+)\\.hpp$")
    set(n ${CMAKE_MATCH_1})
    if(DEFINED layer_of_${n})
      set(target_rank ${rank_${layer_of_${n}}})
      set(what "<lessmore/${n}.hpp> (${layer_of_${n}})")
    else()
      string(APPEND problems "  ${rel}: includes <lessmore/${n}.hpp>, which is not a public header\n")
    endif()
  elseif(inc MATCHES "^(kernels|io|pipeline)/")
    set(target_rank ${rank_${CMAKE_MATCH_1}})
    set(what "a private ${CMAKE_MATCH_1} header")
    if(public)
      string(APPEND problems "  ${rel}: includes ${what} (\"${inc}\"); public headers include only public headers\n")
    elseif(layer STREQUAL "apps" OR layer STREQUAL "python")
      string(APPEND problems "  ${rel}: includes ${what}; ${layer} uses public headers only\n")
    endif()
  elseif(public)
    # A public header: standard headers only (no directory, no extension), so the API
    # carries no third-party type.
    if(inc MATCHES "[./]")
      string(APPEND problems "  ${rel}: includes <${inc}>; public headers include only standard headers and <lessmore/...>\n")
    endif()
  else()
    foreach(entry IN LISTS third_party)
      string(REPLACE "@" ";" parts "${entry}")
      list(GET parts 0 pattern)
      list(GET parts 1 library)
      list(GET parts 2 allowed)
      if(inc MATCHES "${pattern}")
        string(REPLACE "," ";" allowed "${allowed}")
        set(ok FALSE)
        foreach(place IN LISTS allowed)
          string(FIND "${rel}" "${place}" at)
          if(at EQUAL 0)
            set(ok TRUE)
          endif()
        endforeach()
        if(NOT ok)
          string(REPLACE ";" " or " where "${allowed}")
          string(APPEND problems "  ${rel}: includes <${inc}>; ${library} appears only in ${where}\n")
        endif()
      endif()
    endforeach()
    if(inc MATCHES "^(fstream|filesystem)$" AND layer STREQUAL "kernels")
      string(APPEND problems "  ${rel}: includes <${inc}>; kernels do no file I/O\n")
    endif()
  endif()
  if(target_rank GREATER my_rank)
    string(APPEND problems "  ${rel} (${layer}): includes ${what}, a layer above it\n")
  endif()
  set(problems "${problems}" PARENT_SCOPE)
endfunction()

function(check_files layer public)
  foreach(f IN LISTS ARGN)
    file(RELATIVE_PATH rel "${ROOT}" "${f}")
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS lines)
      check_include("${rel}" ${layer} ${public} "${line}")
    endforeach()
  endforeach()
  set(problems "${problems}" PARENT_SCOPE)
endfunction()

foreach(layer IN ITEMS kernels io pipeline)
  file(GLOB_RECURSE files "${ROOT}/src/${layer}/*.cpp" "${ROOT}/src/${layer}/*.hpp")
  check_files(${layer} FALSE ${files})
endforeach()
file(GLOB_RECURSE files "${ROOT}/apps/*.cpp" "${ROOT}/apps/*.hpp")
check_files(apps FALSE ${files})
file(GLOB_RECURSE files "${ROOT}/python/*.cpp" "${ROOT}/python/*.hpp")
check_files(python FALSE ${files})
foreach(h IN LISTS headers)
  string(REGEX REPLACE "\\.hpp$" "" name "${h}")
  if(DEFINED layer_of_${name})
    check_files(${layer_of_${name}} TRUE "${ROOT}/include/lessmore/${h}")
  endif()
endforeach()

# ARCHITECTURE.md's table: one row per layer, "| `layer` | `a` `b` ... |", headers sorted.
if(EXISTS "${ROOT}/ARCHITECTURE.md")
  file(STRINGS "${ROOT}/ARCHITECTURE.md" rows REGEX "^\\| `(kernels|io|pipeline)` \\|")
  foreach(layer IN ITEMS kernels io pipeline)
    set(expected "")
    if(public_${layer})
      list(SORT public_${layer})
      foreach(n IN LISTS public_${layer})
        string(APPEND expected " `${n}`")
      endforeach()
    endif()
    set(expected_row "| `${layer}` |${expected} |")
    set(found "")
    foreach(row IN LISTS rows)
      if(row MATCHES "^\\| `${layer}` \\|")
        set(found "${row}")
      endif()
    endforeach()
    if(NOT found STREQUAL expected_row)
      string(APPEND problems "  ARCHITECTURE.md: the public headers of ${layer} are listed as\n    ${found}\n  but the tree has\n    ${expected_row}\n")
    endif()
  endforeach()
endif()

if(problems)
  message(FATAL_ERROR "lessmore layering violated (see ARCHITECTURE.md):\n${problems}")
endif()
