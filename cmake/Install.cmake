include(GNUInstallDirs)
install(TARGETS lessmore lessmore-decoder RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Loaded by lessmore at first use, from where the model modules go too (src/CMakeLists.txt,
# LESSMORE_MODULE_INSTALL_DIR; src/pipeline/opencv_loader.cpp).
install(TARGETS lessmore_opencv_module LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/lessmore)
install(FILES LICENSE NOTICE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES models/mobilenet_v1_0.25_224_imagenet_embed.onnx models/mobilenet_v1_0.25_224_imagenet_embed.json
              models/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/lessmore/models)
