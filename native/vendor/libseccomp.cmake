# libseccomp, vendored unmodified as released (see native/vendor/README.md):
# the tarball's SHA-256 is checked before it is unpacked, then it is built as a
# static, position-independent library and exposed as the target seccomp_static.
include(ExternalProject)

set(LIBSECCOMP_VERSION 2.6.0)
set(LIBSECCOMP_TARBALL ${CMAKE_CURRENT_LIST_DIR}/libseccomp-${LIBSECCOMP_VERSION}.tar.gz)
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/SHA256SUMS _sums REGEX "libseccomp-${LIBSECCOMP_VERSION}.tar.gz$")
string(REGEX MATCH "^[0-9a-f]+" LIBSECCOMP_SHA256 "${_sums}")
file(SHA256 ${LIBSECCOMP_TARBALL} _actual)
if(NOT _actual STREQUAL LIBSECCOMP_SHA256)
  message(FATAL_ERROR "libseccomp tarball checksum mismatch: expected ${LIBSECCOMP_SHA256}, got ${_actual}")
endif()

set(LIBSECCOMP_PREFIX ${CMAKE_BINARY_DIR}/libseccomp)
set(LIBSECCOMP_LIB ${LIBSECCOMP_PREFIX}/src/libseccomp/src/.libs/libseccomp.a)
# configure insists on gperf although the release ships the generated
# src/syscalls.perf.c; GPERF=/bin/false makes it use that file as it is.
ExternalProject_Add(libseccomp
  PREFIX ${LIBSECCOMP_PREFIX}
  URL ${LIBSECCOMP_TARBALL}
  URL_HASH SHA256=${LIBSECCOMP_SHA256}
  DOWNLOAD_EXTRACT_TIMESTAMP ON
  BUILD_IN_SOURCE ON
  CONFIGURE_COMMAND ./configure --enable-static --disable-shared --with-pic GPERF=/bin/false CC=${CMAKE_C_COMPILER}
  BUILD_COMMAND make -C src -j2
  INSTALL_COMMAND ""
  BUILD_BYPRODUCTS ${LIBSECCOMP_LIB})

add_library(seccomp_static STATIC IMPORTED GLOBAL)
set_target_properties(seccomp_static PROPERTIES IMPORTED_LOCATION ${LIBSECCOMP_LIB})
file(MAKE_DIRECTORY ${LIBSECCOMP_PREFIX}/src/libseccomp/include)
target_include_directories(seccomp_static INTERFACE ${LIBSECCOMP_PREFIX}/src/libseccomp/include)
add_dependencies(seccomp_static libseccomp)
