# Every third-party library vigil uses, found once for all targets.
# Debian 12 packages, plus ONNX Runtime from $VIGIL_DEPS (scripts/setup.sh).

set(VIGIL_DEPS "$ENV{VIGIL_DEPS}")
if(NOT VIGIL_DEPS)
  set(VIGIL_DEPS /opt/vigil-deps)
endif()
set(VIGIL_ORT_VERSION 1.21.0)

find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc imgcodecs videoio)
find_package(faiss REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(Torch REQUIRED)
find_package(ONNX REQUIRED)
find_package(Protobuf REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)

# ONNX Runtime: the distribution's package where there is one (Debian 13),
# else the pinned copy that scripts/setup.sh unpacks.
find_path(ORT_INCLUDE_DIR onnxruntime_cxx_api.h
  HINTS ${VIGIL_DEPS}/onnxruntime-${VIGIL_ORT_VERSION}/include
        /usr/include/onnxruntime
  NO_DEFAULT_PATH)
find_library(ORT_LIBRARY onnxruntime
  HINTS ${VIGIL_DEPS}/onnxruntime-${VIGIL_ORT_VERSION}/lib
  NO_DEFAULT_PATH)
if(NOT ORT_LIBRARY)
  find_library(ORT_LIBRARY onnxruntime)
endif()
if(NOT ORT_INCLUDE_DIR OR NOT ORT_LIBRARY)
  message(FATAL_ERROR "ONNX Runtime not found: run scripts/setup.sh")
endif()
add_library(onnxruntime::onnxruntime SHARED IMPORTED)
set_target_properties(onnxruntime::onnxruntime PROPERTIES
  IMPORTED_LOCATION ${ORT_LIBRARY}
  IMPORTED_NO_SONAME FALSE
  INTERFACE_INCLUDE_DIRECTORIES ${ORT_INCLUDE_DIR})
get_filename_component(ORT_LIBRARY_DIR ${ORT_LIBRARY} DIRECTORY)
set(CMAKE_BUILD_RPATH ${ORT_LIBRARY_DIR})
set(CMAKE_INSTALL_RPATH ${ORT_LIBRARY_DIR})

find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
# Debian builds cpp-httplib as a shared library with OpenSSL, zlib and
# Brotli enabled; code that includes httplib.h must see the same
# CPPHTTPLIB_* definitions, or its classes get another layout than the
# library's. pkg-config carries those definitions and the library.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CPP_HTTPLIB IMPORTED_TARGET cpp-httplib)
add_library(httplib::httplib INTERFACE IMPORTED)
if(CPP_HTTPLIB_FOUND)
  target_link_libraries(httplib::httplib INTERFACE PkgConfig::CPP_HTTPLIB)
else()
  target_include_directories(httplib::httplib INTERFACE ${HTTPLIB_INCLUDE_DIR})
endif()

# Several build folders (sanitizers, benchmarks) share compiled objects.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
