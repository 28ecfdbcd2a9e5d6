# Packaging.cmake - the .deb and .rpm packages, with CPack. Included at the
# end of the top-level CMakeLists.txt (after every install() rule) when
# FUGUE_PACKAGE is DEB or RPM (see PackagingLayout.cmake); `make package`
# builds both kinds into one directory.
#
#   component        Debian package     RPM package       holds
#   libfugue         libfugueN          libfugue          libfugue.so.N (N: FUGUE_ABI_SOVERSION, 0)
#   libfugue-dev     libfugue-dev       libfugue-devel    headers, libfugue.so, fugue.pc, CMake package
#   fugue-conductor  fugue-conductor    fugue-conductor   conductord, planners, unit, config, fugue user
#   fugue-cli        fugue-cli          fugue-cli         fugue, fugue(1), bash completion
#
# Versions come from project(VERSION) and FUGUE_PACKAGE_RELEASE; the Debian
# changelog (packaging/changelog) must start with that version, and the RPM
# %changelog is made from it.

if(NOT FUGUE_PACKAGE)
  return()
endif()

set(FUGUE_PACKAGE_RELEASE 1 CACHE STRING "Package release (Debian revision, RPM Release)")
set(FUGUE_PACKAGE_MAINTAINER "Fugue for C maintainers <fugue@example.org>"
  CACHE STRING "The packages' Maintainer / Packager")
set(_pkg_dir ${PROJECT_SOURCE_DIR}/packaging)
set(_full_version ${PROJECT_VERSION}-${FUGUE_PACKAGE_RELEASE})
set(_libpkg_deb libfugue${FUGUE_ABI_SOVERSION})

# --- the changelog: one source, checked against the version ---------------------
#
# Read as text with ';' and brackets masked, because CMake lists split on the
# one and nest on the others.
file(READ ${_pkg_dir}/changelog _changelog)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_pkg_dir}/changelog)
string(REGEX MATCH "^fugue \\(([^)]+)\\)" _top "${_changelog}")
if(NOT CMAKE_MATCH_1 STREQUAL _full_version)
  message(FATAL_ERROR "packaging/changelog: the newest entry is '${CMAKE_MATCH_1}' but the package "
                      "version is ${_full_version} (project(VERSION)-FUGUE_PACKAGE_RELEASE): "
                      "add an entry for ${_full_version} at the top")
endif()

# The RPM %changelog from the Debian one: "* Fri Dec 04 2026 WHO - VERSION"
# then "- item" lines, newest first (both formats are).
function(fugue_rpm_changelog out text)
  string(REPLACE ";" "@SEMI@" text "${text}")
  string(REPLACE "[" "@LB@" text "${text}")
  string(REPLACE "]" "@RB@" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(result "")
  set(body "")
  set(version "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^fugue \\(([^)]+)\\)")
      set(version "${CMAKE_MATCH_1}")
      set(body "")
    elseif(line MATCHES "^  \\* (.*)$")
      string(APPEND body "- ${CMAKE_MATCH_1}\n")
    elseif(line MATCHES "^    (.*)$")
      string(APPEND body "  ${CMAKE_MATCH_1}\n")
    elseif(line MATCHES "^ -- (.+)  ([A-Z][a-z][a-z]), ([0-9]+) ([A-Z][a-z][a-z]) ([0-9]+) ")
      string(APPEND result "* ${CMAKE_MATCH_2} ${CMAKE_MATCH_4} ${CMAKE_MATCH_3} ${CMAKE_MATCH_5} "
                           "${CMAKE_MATCH_1} - ${version}\n${body}\n")
    endif()
  endforeach()
  string(REPLACE "@SEMI@" ";" result "${result}")
  string(REPLACE "@LB@" "[" result "${result}")
  string(REPLACE "@RB@" "]" result "${result}")
  file(WRITE ${out} "${result}")
endfunction()

# --- common ----------------------------------------------------------------------

set(CPACK_GENERATOR ${FUGUE_PACKAGE})
set(CPACK_PACKAGE_NAME fugue)
set(CPACK_PACKAGE_VENDOR "Fugue for C")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${FUGUE_PACKAGE_MAINTAINER}")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it before every
# component's own first line (the Debian synopsis).
set(CPACK_COMPONENTS_ALL libfugue libfugue-dev fugue-conductor fugue-cli)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)

set(_synopsis_libfugue "Fugue for C SDK: planner ABI and AWS client (runtime)")
set(_synopsis_libfugue-dev "Fugue for C SDK: planner ABI and AWS client (development)")
set(_synopsis_fugue-conductor "Fugue Conductor: AWS infrastructure from compositions, enforced")
set(_synopsis_fugue-cli "fugue: the operators' command for the Fugue Conductor")
set(_about "Fugue for C is a cloud operating system for AWS: operators declare
infrastructure in a composition (YAML); the Conductor creates it through the
AWS APIs and keeps enforcing it, putting back whatever drifted.")
set(_detail_libfugue "libfugue is the SDK the Conductor and every planner link against: the
planner ABI and an AWS client with SigV4 signing, credentials, endpoint
overrides, retries, client-side rate limits and pagination.")
set(_detail_libfugue-dev "This package holds the headers (fugue/planner.h, fugue/aws.h), the
pkg-config file fugue.pc and the CMake package (find_package(Fugue)), for
building planners outside the Fugue tree.")
set(_detail_fugue-conductor "This package holds conductord, the planners for VPC, EC2, IAM, ELB and
Lambda, and a hardened systemd service that runs it as the fugue user.
Members of the fugue group may use it through its Unix socket.")
set(_detail_fugue-cli "fugue runs compositions on the Conductor and manages them: status,
update, history, suspend, resume, kill, release, properties and settings;
it also validates compositions offline with the installed planners.")

# --- Debian ------------------------------------------------------------------------

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${FUGUE_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${FUGUE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SOURCE fugue)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# Dependencies on system libraries computed by dpkg-shlibdeps; this build's
# libfugue.so.0 is found in the build tree and depended on by name below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/sdk)
# libfugue0's shlibs file, so that others' packages get "libfugue0 (>= 0.1.0-1)".
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_LIBFUGUE_PACKAGE_NAME ${_libpkg_deb})
set(CPACK_DEBIAN_LIBFUGUE_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIBFUGUE_PACKAGE_CONTROL_EXTRA ${_pkg_dir}/deb/libfugue/triggers)
set(CPACK_DEBIAN_LIBFUGUE-DEV_PACKAGE_NAME libfugue-dev)
set(CPACK_DEBIAN_LIBFUGUE-DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBFUGUE-DEV_PACKAGE_DEPENDS "${_libpkg_deb} (= ${_full_version}), libjson-c-dev")
set(CPACK_DEBIAN_LIBFUGUE-DEV_PACKAGE_SUGGESTS "pkg-config")
# conductord and the planners are built with this very libfugue: the same version.
set(CPACK_DEBIAN_FUGUE-CONDUCTOR_PACKAGE_NAME fugue-conductor)
set(CPACK_DEBIAN_FUGUE-CONDUCTOR_PACKAGE_DEPENDS
  "${_libpkg_deb} (= ${_full_version}), systemd | systemd-sysusers")
set(CPACK_DEBIAN_FUGUE-CONDUCTOR_PACKAGE_SUGGESTS "fugue-cli")
set(CPACK_DEBIAN_FUGUE-CONDUCTOR_PACKAGE_CONTROL_EXTRA
  ${_pkg_dir}/deb/fugue-conductor/conffiles ${_pkg_dir}/deb/fugue-conductor/postinst
  ${_pkg_dir}/deb/fugue-conductor/prerm ${_pkg_dir}/deb/fugue-conductor/postrm)
set(CPACK_DEBIAN_FUGUE-CLI_PACKAGE_NAME fugue-cli)
set(CPACK_DEBIAN_FUGUE-CLI_PACKAGE_DEPENDS "${_libpkg_deb} (= ${_full_version})")
set(CPACK_DEBIAN_FUGUE-CLI_PACKAGE_RECOMMENDS "bash-completion")
set(CPACK_DEBIAN_FUGUE-CLI_PACKAGE_SUGGESTS "fugue-conductor")

# --- RPM -----------------------------------------------------------------------------

set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE ${FUGUE_PACKAGE_RELEASE})
set(CPACK_RPM_PACKAGE_LICENSE "Proprietary")
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
# Requires on libraries (libjson-c.so.5()(64bit), ...) computed by rpmbuild.
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_AUTOPROV ON)
set(CPACK_RPM_CHANGELOG_FILE ${CMAKE_BINARY_DIR}/packaging/rpm-changelog)
fugue_rpm_changelog(${CPACK_RPM_CHANGELOG_FILE} "${_changelog}")
# Directories other packages own; ours are /etc/fugue, <libdir>/fugue, the docs'.
list(APPEND CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
  /usr/sbin /usr/lib/systemd /usr/lib/systemd/system /usr/lib/sysusers.d /usr/lib/tmpfiles.d
  /usr/share/man /usr/share/man/man1 /usr/share/man/man8 /usr/share/bash-completion
  /usr/share/bash-completion/completions /usr/lib64/pkgconfig /usr/lib64/cmake)
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")

set(CPACK_RPM_LIBFUGUE_PACKAGE_NAME libfugue)
set(CPACK_RPM_LIBFUGUE-DEV_PACKAGE_NAME libfugue-devel)
set(CPACK_RPM_LIBFUGUE-DEV_PACKAGE_REQUIRES "libfugue = ${_full_version}, json-c-devel, pkgconfig")
set(CPACK_RPM_FUGUE-CONDUCTOR_PACKAGE_NAME fugue-conductor)
set(CPACK_RPM_FUGUE-CONDUCTOR_PACKAGE_REQUIRES "libfugue = ${_full_version}")
set(CPACK_RPM_FUGUE-CONDUCTOR_PACKAGE_REQUIRES_POST "systemd")
set(CPACK_RPM_FUGUE-CONDUCTOR_PACKAGE_REQUIRES_PREUN "systemd")
set(CPACK_RPM_FUGUE-CONDUCTOR_PACKAGE_REQUIRES_POSTUN "systemd")
set(CPACK_RPM_FUGUE-CONDUCTOR_USER_FILELIST "%config(noreplace) /etc/fugue/conductor.yaml")
set(CPACK_RPM_FUGUE-CONDUCTOR_POST_INSTALL_SCRIPT_FILE ${_pkg_dir}/rpm/fugue-conductor-post.sh)
set(CPACK_RPM_FUGUE-CONDUCTOR_PRE_UNINSTALL_SCRIPT_FILE ${_pkg_dir}/rpm/fugue-conductor-preun.sh)
set(CPACK_RPM_FUGUE-CONDUCTOR_POST_UNINSTALL_SCRIPT_FILE ${_pkg_dir}/rpm/fugue-conductor-postun.sh)
set(CPACK_RPM_FUGUE-CLI_PACKAGE_NAME fugue-cli)
set(CPACK_RPM_FUGUE-CLI_PACKAGE_REQUIRES "libfugue = ${_full_version}")

# --- per package: description and /usr/share/doc --------------------------------------

if(FUGUE_PACKAGE STREQUAL "DEB")
  # What lintian wants of every binary package: copyright, and the changelog
  # compressed with gzip -9n (reproducible: no name, no time stamp).
  set(_changelog_gz ${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/packaging)
  execute_process(COMMAND gzip -9nc INPUT_FILE ${_pkg_dir}/changelog OUTPUT_FILE ${_changelog_gz}
                  RESULT_VARIABLE _gzip_rc)
  if(NOT _gzip_rc EQUAL 0)
    message(FATAL_ERROR "gzip of packaging/changelog failed: ${_gzip_rc}")
  endif()
endif()

foreach(_comp IN LISTS CPACK_COMPONENTS_ALL)
  string(TOUPPER ${_comp} _COMP)
  set(_description "${_synopsis_${_comp}}\n${_about}\n.\n${_detail_${_comp}}")
  set(CPACK_COMPONENT_${_COMP}_DESCRIPTION "${_description}")
  set(CPACK_DEBIAN_${_COMP}_DESCRIPTION "${_description}")
  set(CPACK_RPM_${_COMP}_PACKAGE_SUMMARY "${_synopsis_${_comp}}")
  set(CPACK_RPM_${_COMP}_PACKAGE_DESCRIPTION "${_about}\n\n${_detail_${_comp}}")
  if(FUGUE_PACKAGE STREQUAL "DEB")
    set(_docdir ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CPACK_DEBIAN_${_COMP}_PACKAGE_NAME})
    install(FILES ${_pkg_dir}/copyright ${_changelog_gz} DESTINATION ${_docdir} COMPONENT ${_comp})
    if(EXISTS ${_pkg_dir}/lintian/${CPACK_DEBIAN_${_COMP}_PACKAGE_NAME})
      install(FILES ${_pkg_dir}/lintian/${CPACK_DEBIAN_${_COMP}_PACKAGE_NAME}
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides COMPONENT ${_comp})
    endif()
  else()
    set(_docdir ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CPACK_RPM_${_COMP}_PACKAGE_NAME})
    install(FILES ${_pkg_dir}/copyright DESTINATION ${_docdir} COMPONENT ${_comp})
  endif()
endforeach()

include(CPack)
