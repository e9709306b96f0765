# All dependencies come from Debian 12 packages (installed by scripts/setup.sh).
find_package(ITK 5.2 REQUIRED COMPONENTS ITKCommon ITKIOImageBase ITKIONRRD ITKIOMeta ITKGDCM
             ITKIOPNG ITKIOJPEG ITKIOTIFF ITKPNG ITKZLIB)
find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc dnn imgcodecs)
find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
# libpng (libpng-dev): the tests' independent PNG decoder; ITK links the same library. PNG
# slices are deflated by ISA-L (libisal-dev, found in src/CMakeLists.txt; src/io/image_codec.cpp
# says why).
find_package(PNG REQUIRED)
# libjpeg-turbo (libjpeg62-turbo-dev) decodes 2-D JPEG slices with its warnings as errors.
find_package(JPEG REQUIRED)
# FAISS (static in Debian) for the cross-volume pass's nearest-neighbour search; it uses
# OpenMP and BLAS (OpenBLAS at run time through Debian's alternatives).
find_package(OpenMP REQUIRED)
find_package(faiss REQUIRED)

# ITK exposes its modules through variables rather than imported targets; wrap them once.
add_library(lessmore_itk INTERFACE)
target_include_directories(lessmore_itk SYSTEM INTERFACE ${ITK_INCLUDE_DIRS})
target_link_libraries(lessmore_itk INTERFACE ${ITK_LIBRARIES})

# The core uses OpenCV's image processing and dnn only: imgcodecs would pull GDAL and
# ~140 shared libraries into every run (60 ms of start-up). Tests and benchmarks also
# use imgcodecs, as an independent decoder.
add_library(lessmore_opencv INTERFACE)
target_include_directories(lessmore_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(lessmore_opencv INTERFACE opencv_core opencv_imgproc opencv_dnn)

add_library(lessmore_opencv_codecs INTERFACE)
target_link_libraries(lessmore_opencv_codecs INTERFACE lessmore_opencv opencv_imgcodecs)

# The model modules (src/io/model_module_abi.hpp), each a shared library opened with dlopen
# only when a model needs it, so neither library is loaded by a command that uses none:
# libonnx normalises torch's ONNX exports for OpenCV's DNN (required: every ONNX model goes
# through it); LibTorch runs TorchScript models (optional at build time: without Debian's
# libtorch-dev the build has no lessmore_torch.so and a .pt model is refused by name;
# scripts/setup.sh test installs it, and the tests that need it skip, saying so, without it).
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
find_package(Torch QUIET)
