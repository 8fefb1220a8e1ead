# Debian packages with CPack (make deb; dpkg-deb -x in tests/package):
#   flanneld-alivpc  the daemon, its systemd unit and /etc/default/flanneld-alivpc (root only)
#   libalivpc-dev    the headers and the CMake package (find_package(alivpc))
# Two packages, not one: a node needs the daemon and nothing that compiles, an agent that embeds
# the library needs the headers and their -dev dependencies but no service. The -dev package is
# Architecture: all (header-only; the CMake files go to share/, not to a multiarch lib/ path).
include(GNUInstallDirs)

# Packages hold what is built: building every test first (the `all` target) is not wanted.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(deb_doc_dir ${PROJECT_BINARY_DIR}/deb-doc)
file(MAKE_DIRECTORY ${deb_doc_dir})
# Debian wants a changelog per package, gzip -9n (no timestamp: reproducible).
string(TIMESTAMP deb_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${deb_doc_dir}/changelog.Debian
  "alivpc (${PROJECT_VERSION}-1) unstable; urgency=medium\n\n"
  "  * Built from the alivpc sources with CPack.\n\n"
  " -- alivpc maintainers <maintainers@users.noreply.r-seed-ccf14a23.example>  ${deb_date}\n")
execute_process(COMMAND gzip -9nf ${deb_doc_dir}/changelog.Debian RESULT_VARIABLE gzip_rc)

foreach(component IN ITEMS daemon dev)
  if(component STREQUAL "daemon")
    set(pkg flanneld-alivpc)
  else()
    set(pkg libalivpc-dev)
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright ${deb_doc_dir}/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${component})
endforeach()

if(TARGET flanneld_alivpc)
  install(TARGETS flanneld_alivpc RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT daemon)
  # Debian 12 keeps packaged units in /lib/systemd/system.
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/flanneld-alivpc.service
    DESTINATION /lib/systemd/system COMPONENT daemon)
  install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/flanneld-alivpc.env
    DESTINATION /etc/default RENAME flanneld-alivpc PERMISSIONS OWNER_READ OWNER_WRITE
    COMPONENT daemon)
  install(FILES ${PROJECT_SOURCE_DIR}/README.md
    ${PROJECT_SOURCE_DIR}/deploy/ram/flanneld-alivpc-policy.json
    ${PROJECT_SOURCE_DIR}/deploy/prometheus/alivpc-alerts.yml
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/flanneld-alivpc COMPONENT daemon)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/kubernetes/
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/flanneld-alivpc/kubernetes COMPONENT daemon)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME alivpc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# A Debian revision (0.1.0-1): the packaging is not part of the upstream sources' version.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_PACKAGE_CONTACT "alivpc maintainers <maintainers@users.noreply.r-seed-ccf14a23.example>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME flanneld-alivpc)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DAEMON_PACKAGE_RECOMMENDS "iptables")
# (CPack indents the lines after the synopsis itself.)
set(CPACK_COMPONENT_DAEMON_DESCRIPTION
 "flannel ali-vpc backend daemon for Alibaba Cloud VPC routes
flanneld_alivpc takes a subnet lease from etcd, as flanneld does, and keeps a
route for it to this instance in the VPC route tables, so pod traffic needs
no encapsulation. It writes /run/flannel/subnet.env for the flannel CNI
plugin and serves /healthz and Prometheus /metrics.")
# /etc/default/flanneld-alivpc is the operator's: dpkg keeps their edits on upgrade.
file(WRITE ${deb_doc_dir}/conffiles "/etc/default/flanneld-alivpc\n")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA ${deb_doc_dir}/conffiles)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libalivpc-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libboost-dev (>= 1.74), libssl-dev, nlohmann-json3-dev (>= 3.11)")
set(CPACK_COMPONENT_DEV_DESCRIPTION
 "header-only C++20 library for flannel-style VPC routes on Alibaba Cloud
alivpc is the library behind flanneld_alivpc: the flannel lease algorithm
over etcd, an Alibaba Cloud OpenAPI client with request signing, retries and
RAM role credentials, and rtnetlink, composed as policies. This package holds
the headers and the CMake package (find_package(alivpc)).")

include(CPack)
