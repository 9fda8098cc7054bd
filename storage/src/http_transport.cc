#include "vigil/storage/http_transport.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "vigil/error.h"
#include "vigil/storage/reduct_client.h"

namespace vigil::storage {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

void set_timeout_ms(int ms, void (httplib::Client::*setter)(time_t, time_t),
                    httplib::Client& client) {
  (client.*setter)(ms / 1000, (ms % 1000) * 1000);
}

// One keep-alive connection; the mutex keeps two threads from interleaving
// requests on it.
class HttplibTransport : public HttpTransport {
 public:
  explicit HttplibTransport(const ClientOptions& options)
      : client_(options.url) {
    client_.set_keep_alive(true);
    // httplib writes headers and body separately; with Nagle's algorithm
    // the body then waits for the server's delayed ACK, ~40 ms a request.
    client_.set_tcp_nodelay(true);
    set_timeout_ms(options.connect_timeout_ms,
                   &httplib::Client::set_connection_timeout, client_);
    set_timeout_ms(options.read_timeout_ms, &httplib::Client::set_read_timeout,
                   client_);
    set_timeout_ms(options.write_timeout_ms,
                   &httplib::Client::set_write_timeout, client_);
  }

  HttpResponse send(const HttpRequest& request) override {
    httplib::Request req;
    req.method = request.method;
    req.path = request.target;
    req.body = request.body;
    for (const auto& [name, value] : request.headers) {
      req.headers.emplace(name, value);
    }

    std::lock_guard<std::mutex> lock(mutex_);
    httplib::Result result = client_.send(req);
    return to_response(result);
  }

 private:
  static HttpResponse to_response(const httplib::Result& result) {
    HttpResponse response;
    if (!result) {
      response.error = describe(result.error());
      return response;
    }
    response.status = result->status;
    response.body = result->body;
    for (const auto& [name, value] : result->headers) {
      response.headers.emplace(lower(name), value);
    }
    return response;
  }

  static std::string describe(httplib::Error error) {
    switch (error) {
      case httplib::Error::Connection:
        return "cannot connect";
      case httplib::Error::ConnectionTimeout:
        return "connection timed out";
      case httplib::Error::Read:
        return "connection lost while reading the response";
      case httplib::Error::Write:
        return "connection lost while sending the request";
      default:
        return "network error (" + httplib::to_string(error) + ")";
    }
  }

  httplib::Client client_;
  std::mutex mutex_;
};

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::unique_ptr<HttpTransport> make_http_transport(
    const ClientOptions& options) {
  if (options.url.rfind("http://", 0) != 0) {
    throw Error("reductstore url '" + options.url + "'",
                "must start with http:// (TLS is not supported)");
  }
  return std::make_unique<HttplibTransport>(options);
}

}  // namespace vigil::storage
