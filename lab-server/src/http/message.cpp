#include "http/message.hpp"

#include "http/router.hpp"

#include <algorithm>

namespace nixedge::lab::http {

void RouteParams::add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
}

std::string_view RouteParams::get(std::string_view name) const {
    for (const auto& [key, value] : items_)
        if (key == name)
            return value;
    return {};
}

boost::asio::awaitable<Result<ByteView>> RequestBody::read_some(std::size_t max_bytes) {
    if (finished_)
        co_return ByteView{};
    started_ = true;
    auto piece = co_await next_piece(std::max<std::size_t>(max_bytes, 1));
    if (!piece)
        co_return piece.error();
    if (piece->empty()) {
        finished_ = true;
        co_return ByteView{};
    }
    bytes_read_ += piece->size();
    if (bytes_read_ > limit_)
        co_return make_error(ErrorCode::limit_exceeded,
                             "request body larger than " + std::to_string(limit_) + " bytes");
    co_return *piece;
}

boost::asio::awaitable<Result<std::string>> RequestBody::read_all(std::size_t max_bytes) {
    std::string out;
    for (;;) {
        auto piece = co_await read_some();
        if (!piece)
            co_return piece.error();
        if (piece->empty())
            co_return out;
        if (out.size() + piece->size() > max_bytes)
            co_return make_error(ErrorCode::limit_exceeded, "request body larger than " +
                                                                std::to_string(max_bytes) +
                                                                " bytes");
        out.append(as_chars(*piece));
    }
}

std::optional<std::uint64_t> StringBody::content_length() const {
    if (!declare_length_)
        return std::nullopt;
    return data_.size();
}

boost::asio::awaitable<Result<ByteView>> StringBody::next_piece(std::size_t max_bytes) {
    std::size_t n = std::min(max_bytes, data_.size() - offset_);
    ByteView piece = as_bytes(std::string_view(data_).substr(offset_, n));
    offset_ += n;
    co_return piece;
}

Response Response::text(Status status, std::string body, std::string_view content_type) {
    Response res;
    res.status = status;
    res.headers.set(boost::beast::http::field::content_type, content_type);
    res.body = std::move(body);
    return res;
}

Response Response::json(Status status, std::string body) {
    return text(status, std::move(body), "application/json");
}

Response Response::empty(Status status) {
    Response res;
    res.status = status;
    return res;
}

Response Response::stream(Status status, std::optional<std::uint64_t> length,
                          std::unique_ptr<BodyProducer> producer, std::string_view content_type) {
    Response res;
    res.status = status;
    res.headers.set(boost::beast::http::field::content_type, content_type);
    res.producer = std::move(producer);
    res.stream_length = length;
    return res;
}

Request::Request(Init init) : init_(std::move(init)) {}

std::optional<std::string> Request::query_param(std::string_view name) const {
    return find_query_param(init_.query, name);
}

std::string_view Request::header(std::string_view name) const {
    auto it = init_.headers->find(name);
    if (it == init_.headers->end())
        return {};
    return it->value();
}

} // namespace nixedge::lab::http
