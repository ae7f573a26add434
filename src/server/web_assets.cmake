# Embeds web/* into sputnik_server: at build time each file becomes a byte array in a generated
# web_assets_data.cpp (regenerated when a file under web/ changes). Included by CMakeLists.txt.
file(GLOB SPUTNIK_WEB_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/web/*)
set(SPUTNIK_WEB_CPP ${CMAKE_BINARY_DIR}/generated/web_assets_data.cpp)
add_custom_command(
  OUTPUT ${SPUTNIK_WEB_CPP}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${CMAKE_SOURCE_DIR}/web -DOUT=${SPUTNIK_WEB_CPP}
          -P ${CMAKE_SOURCE_DIR}/src/server/web_embed.cmake
  DEPENDS ${SPUTNIK_WEB_FILES} ${CMAKE_SOURCE_DIR}/src/server/web_embed.cmake
  COMMENT "Embedding the web chat page")
target_sources(sputnik_server PRIVATE ${SPUTNIK_WEB_CPP})
