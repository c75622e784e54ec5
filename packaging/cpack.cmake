# Debian package through CPack's DEB generator: it packs exactly what the
# install rules above install, from the tree CMake already built, so
# there is one list of files and no second build system to keep in step.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME secretwatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SW_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SW_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "watchdog for Microsoft 365 OAuth client secrets")
# CPack puts the summary above this as the synopsis line.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"secretwatch keeps the client secrets of Entra ID app registrations used
for SMTP AUTH XOAUTH2 encrypted in SQLite with their expiry dates, warns
well before they expire through channels that do not depend on the
failing secret, and switches to a newly registered secret only after a
real token request and test send with it succeed.
.
This package contains the daemon, the command line tool, systemd units
(none enabled on installation), man pages, bash completion, and a Cyrus
SASL client plugin (XOAUTH2) through which Postfix relays to Microsoft
365 with the access tokens secretwatch keeps in token files.")

# Depends: computed by dpkg-shlibdeps from the binaries and from the
# network module (libsecretwatch-net.so, which links libcurl), plus passwd
# for the useradd/userdel of the maintainer scripts and procps for the
# /bin/kill of ExecReload= (neither is Essential).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus-node-exporter, postfix")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/deb/conffiles
    ${CMAKE_CURRENT_SOURCE_DIR}/deb/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/deb/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE
    GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# The package installs under /usr, but a tree configured for another
# prefix has that prefix built in: the programs' RUNPATH names
# <prefix>/lib/secretwatch for the network module, the units name
# <prefix>/bin, and the SASL plugin directory is the multiarch one only
# for /usr (GNUInstallDirs). cpack would pack such a tree into a package
# whose network commands all fail, so it refuses it, saying how to
# configure one for the package.
set(SW_CPACK_CHECK ${CMAKE_CURRENT_BINARY_DIR}/cpack-prefix-check.cmake)
file(WRITE ${SW_CPACK_CHECK}
"if(NOT \"${CMAKE_INSTALL_PREFIX}\" STREQUAL \"${CPACK_PACKAGING_INSTALL_PREFIX}\")
  message(FATAL_ERROR \"this build is configured for \"
    \"CMAKE_INSTALL_PREFIX=${CMAKE_INSTALL_PREFIX}, and the Debian package \"
    \"installs under ${CPACK_PACKAGING_INSTALL_PREFIX}: its programs would \"
    \"look for their network module in ${SW_NETMOD_RPATH} (fixed when they \"
    \"were linked). Configure a tree for the package and pack that one: \"
    \"cmake -S ${PROJECT_SOURCE_DIR} -B build-deb \"
    \"-DCMAKE_INSTALL_PREFIX=${CPACK_PACKAGING_INSTALL_PREFIX} && \"
    \"cmake --build build-deb -j2 && (cd build-deb && cpack -G DEB)\")
endif()
")
set(CPACK_PROJECT_CONFIG_FILE ${SW_CPACK_CHECK})

include(CPack)
