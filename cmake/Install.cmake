include(GNUInstallDirs)
install(TARGETS lessmore lessmore-decoder RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES LICENSE NOTICE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES models/mobilenet_v1_0.25_224_imagenet_embed.onnx models/mobilenet_v1_0.25_224_imagenet_embed.json
              models/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/lessmore/models)
