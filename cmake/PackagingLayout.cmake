# PackagingLayout.cmake - where files go, for a plain install and for the
# packages. Included before GNUInstallDirs (the RPM layout's lib64) and before
# the subdirectories (daemon/ installs the systemd files with these dirs);
# cmake/Packaging.cmake, at the end, configures CPack itself.
#
#   FUGUE_PACKAGE   ""   a plain build: `cmake --install` only, no cpack
#                   DEB  Debian 12 layout (multiarch libdir, /lib/systemd/system),
#                        per-package /usr/share/doc with copyright and changelog
#                   RPM  Fedora/RHEL layout (lib64, /usr/lib/systemd/system)
# The compiled-in defaults (planners directory) follow the layout, so the two
# kinds of package come from two build directories (`make package` does it).

set(FUGUE_PACKAGE "" CACHE STRING "Package kind this build directory makes with cpack: DEB, RPM or empty")
set_property(CACHE FUGUE_PACKAGE PROPERTY STRINGS "" DEB RPM)

if(FUGUE_PACKAGE AND NOT FUGUE_PACKAGE MATCHES "^(DEB|RPM)$")
  message(FATAL_ERROR "FUGUE_PACKAGE is '${FUGUE_PACKAGE}': expected DEB, RPM or empty")
endif()
if(FUGUE_PACKAGE AND NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "FUGUE_PACKAGE=${FUGUE_PACKAGE} needs -DCMAKE_INSTALL_PREFIX=/usr "
                      "(packages install into /usr; it is ${CMAKE_INSTALL_PREFIX})")
endif()
if(FUGUE_PACKAGE STREQUAL "RPM")
  set(CMAKE_INSTALL_LIBDIR lib64 CACHE PATH "Object code libraries (lib64 for the RPM layout)")
endif()

# systemd's directories: what the build machine's systemd says when installing
# into /usr (Debian 12: /lib/systemd/system, as lintian wants), the RPM
# distributions' paths for RPM, and under the prefix otherwise (systemd also
# reads /usr/local/lib/systemd/system and the like).
if(FUGUE_PACKAGE STREQUAL "RPM")
  set(_unitdir /usr/lib/systemd/system)
  set(_sysusersdir /usr/lib/sysusers.d)
  set(_tmpfilesdir /usr/lib/tmpfiles.d)
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  find_package(PkgConfig REQUIRED)
  pkg_get_variable(_unitdir systemd systemdsystemunitdir)
  pkg_get_variable(_sysusersdir systemd sysusersdir)
  pkg_get_variable(_tmpfilesdir systemd tmpfilesdir)
  if(NOT _unitdir OR NOT _sysusersdir OR NOT _tmpfilesdir)
    message(FATAL_ERROR "pkg-config cannot tell systemd's unit, sysusers.d and tmpfiles.d "
                        "directories (is the systemd package installed?)")
  endif()
else()
  set(_unitdir lib/systemd/system)
  set(_sysusersdir lib/sysusers.d)
  set(_tmpfilesdir lib/tmpfiles.d)
endif()
set(FUGUE_SYSTEMD_UNITDIR "${_unitdir}" CACHE PATH "Where fugue-conductor.service is installed")
set(FUGUE_SYSUSERSDIR "${_sysusersdir}" CACHE PATH "Where the fugue user's sysusers.d entry is installed")
set(FUGUE_TMPFILESDIR "${_tmpfilesdir}" CACHE PATH "Where the tmpfiles.d entry is installed")

# fugue_install_man(PAGE COMPONENT): installs the man page PAGE (a path
# ending in .SECTION) compressed with gzip -9n, as Debian policy and lintian
# want; man(1) reads it the same, and rpmbuild leaves it as it is.
function(fugue_install_man page component)
  get_filename_component(name ${page} NAME)
  string(REGEX MATCH "[0-9]$" section ${name})
  set(out ${CMAKE_BINARY_DIR}/man/${name}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND sh -c "gzip -9nc \"$1\" > \"$2\"" sh ${page} ${out}
    DEPENDS ${page} VERBATIM)
  add_custom_target(man_${name} ALL DEPENDS ${out})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT ${component})
endfunction()
