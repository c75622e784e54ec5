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

include(CPack)
