include(GNUInstallDirs)
install(TARGETS lessmore lessmore-decoder RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Loaded by lessmore at first use (src/pipeline/opencv_loader.cpp looks in ../lib/lessmore).
install(TARGETS lessmore_opencv_module LIBRARY DESTINATION lib/lessmore)
install(FILES LICENSE NOTICE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES models/mobilenet_v1_0.25_224_imagenet_embed.onnx models/mobilenet_v1_0.25_224_imagenet_embed.json
              models/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/lessmore/models)
