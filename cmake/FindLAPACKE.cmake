# FindLAPACKE: the C interface to LAPACK (lapacke.h, liblapacke), as the imported target
# LAPACKE::LAPACKE, which brings LAPACK::LAPACK with it.
#
# Honours LAPACKE_INCLUDE_DIR and LAPACKE_LIBRARY when set (cache or command line); else
# searches with pkg-config's hints (lapacke.pc) and the usual system paths. Sets
# LAPACKE_FOUND, LAPACKE_INCLUDE_DIRS and LAPACKE_LIBRARIES. Installed with playaug's
# package, where playaugConfig.cmake finds it through find_dependency(LAPACKE).

if(NOT TARGET LAPACK::LAPACK)
  if(LAPACKE_FIND_QUIETLY)
    find_package(LAPACK QUIET)
  else()
    find_package(LAPACK)
  endif()
endif()

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_LAPACKE QUIET lapacke)
endif()
find_path(LAPACKE_INCLUDE_DIR lapacke.h HINTS ${PC_LAPACKE_INCLUDE_DIRS} PATH_SUFFIXES lapacke)
find_library(LAPACKE_LIBRARY NAMES lapacke HINTS ${PC_LAPACKE_LIBRARY_DIRS})

include(FindPackageHandleStandardArgs)
if(TARGET LAPACK::LAPACK)
  set(_lapacke_lapack LAPACK::LAPACK)
endif()
find_package_handle_standard_args(LAPACKE REQUIRED_VARS LAPACKE_LIBRARY LAPACKE_INCLUDE_DIR _lapacke_lapack)

if(LAPACKE_FOUND)
  set(LAPACKE_INCLUDE_DIRS ${LAPACKE_INCLUDE_DIR})
  set(LAPACKE_LIBRARIES ${LAPACKE_LIBRARY} ${LAPACK_LIBRARIES})
  if(NOT TARGET LAPACKE::LAPACKE)
    add_library(LAPACKE::LAPACKE UNKNOWN IMPORTED)
    set_target_properties(LAPACKE::LAPACKE PROPERTIES
      IMPORTED_LOCATION "${LAPACKE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LAPACKE_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES LAPACK::LAPACK)
  endif()
endif()
mark_as_advanced(LAPACKE_INCLUDE_DIR LAPACKE_LIBRARY)
