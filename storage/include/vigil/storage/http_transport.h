// The one door through which the ReductStore client reaches the network, so
// that tests can replace it and inject failures without a real fault.
//
//   auto transport = vigil::storage::make_http_transport(options);
//   HttpResponse r = transport->send({"GET", "/api/v1/alive", {}, ""});
//   if (r.status == 0) std::cerr << r.error;   // nobody answered
//
// A transport never throws for network trouble: it reports it as status 0
// with the cause in `error`. The one made by make_http_transport() keeps a
// single keep-alive connection and serialises requests on it with a mutex,
// so it is safe to share between threads (requests then take turns).
#pragma once

#include <map>
#include <memory>
#include <string>

namespace vigil::storage {

struct ClientOptions;

struct HttpRequest {
  std::string method;  // "GET", "POST", "HEAD", "PATCH", "DELETE", ...
  std::string target;  // path and query, e.g. "/api/v1/b/frames/cam?ts=1"
  // Defaulted so that {.method = ..., .target = ...} may leave them out.
  std::map<std::string, std::string> headers = {};
  std::string body = {};  // raw bytes
};

struct HttpResponse {
  int status = 0;  // HTTP status; 0 when no response came back
  // Header names in lower case (HTTP names are case-insensitive).
  std::multimap<std::string, std::string> headers;
  std::string body;   // raw bytes; empty for HEAD
  std::string error;  // why there is no response, when status is 0

  // The first value of header `name` (lower case), or "" when absent.
  std::string header(const std::string& name) const;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

// A cpp-httplib transport to options.url with the options' timeouts.
// Throws vigil::Error when the URL is not "http://host[:port]".
std::unique_ptr<HttpTransport> make_http_transport(
    const ClientOptions& options);

}  // namespace vigil::storage
