#include "app/serve.hpp"

#include "app/maintenance.hpp"
#include "http/server.hpp"
#include "nixedge/bucket_layout.hpp"
#include "routes/lab_routes.hpp"

namespace nixedge::lab {

namespace {

http::ServerOptions server_options(const ServerConfig& config,
                                   std::shared_ptr<http::Metrics> metrics) {
    const auto& server = config.server;
    http::ServerOptions options;
    options.address = server.listen.host;
    options.port = server.listen.port;
    options.io_threads = server.io_threads;
    options.worker_threads = server.worker_threads;
    options.limits.max_header_bytes = server.limits.max_header_bytes;
    options.limits.max_connections = server.limits.max_connections;
    options.limits.header_timeout = server.timeouts.request_header;
    options.limits.body_idle_timeout = server.timeouts.read;
    options.limits.send_timeout = server.timeouts.write;
    options.limits.keep_alive_timeout = server.timeouts.idle;
    options.metrics = std::move(metrics);
    return options;
}

Result<void> prepare_bucket(Lab& lab, LabContext& context) {
    if (auto updated = update_bucket(lab, context.drainer); !updated)
        return Error{updated.error().code,
                     "writing pending edge objects at start-up: " + updated.error().detail};
    return {};
}

} // namespace

Result<void> serve(Lab& lab, const ServeOptions& options) {
    auto metrics = std::make_shared<http::Metrics>();
    auto context = LabContext::create(lab, *metrics);
    if (!context)
        return context.error();
    if (auto prepared = prepare_bucket(lab, **context); !prepared)
        return prepared;
    auto router = make_lab_router(**context, metrics);
    if (!router)
        return router.error();
    auto server = http::Server::start(server_options(lab.config, metrics), *router);
    if (!server)
        return server.error();
    Maintenance maintenance(**context);
    return http::run_until_signal(**server, [&] {
        if (options.on_listening)
            options.on_listening(
                "http://" + ListenAddress{(*server)->address(), (*server)->port()}.to_string());
    });
}

} // namespace nixedge::lab
