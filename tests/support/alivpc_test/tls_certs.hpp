// A throwaway PKI made with the `openssl` command: a CA, a server certificate for 127.0.0.1 and
// localhost signed by it, a client certificate, and a second unrelated CA (to test refusal).
#pragma once

#include "temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace alivpc_test {

struct tls_certs {
  std::filesystem::path dir;
  std::string ca_cert, ca_key, server_cert, server_key, client_cert, client_key, other_ca_cert;

  static tls_certs make(const std::filesystem::path& dir) {
    tls_certs c;
    c.dir = dir;
    auto p = [&](const char* name) { return (dir / name).string(); };
    c.ca_cert = p("ca.pem");
    c.ca_key = p("ca-key.pem");
    c.server_cert = p("server.pem");
    c.server_key = p("server-key.pem");
    c.client_cert = p("client.pem");
    c.client_key = p("client-key.pem");
    c.other_ca_cert = p("other-ca.pem");
    const std::string d = dir.string();
    std::string script =
        "set -e; cd '" + d +
        "';"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2"
        " -subj '/CN=alivpc test CA' >/dev/null 2>&1;"
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca-key.pem -out other-ca.pem"
        " -days 2 -subj '/CN=alivpc other CA' >/dev/null 2>&1;"
        "printf "
        "'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth,clientAuth\\n'"
        " > ext.cnf;"
        "for n in server client; do"
        " openssl req -newkey rsa:2048 -nodes -keyout $n-key.pem -out $n.csr -subj \"/CN=$n\""
        " >/dev/null 2>&1;"
        " openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out $n.pem"
        " -days 2 -extfile ext.cnf >/dev/null 2>&1; done";
    const std::string script_file = p("make-certs.sh");
    {
      std::ofstream f(script_file);
      f << script << "\n";
    }
    std::string cmd = "sh '" + script_file + "'";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("openssl failed making test certificates");
    return c;
  }
};

}  // namespace alivpc_test
