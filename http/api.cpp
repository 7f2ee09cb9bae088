#include "http/api.hpp"

#include <cctype>

namespace tdc::http {

namespace {

std::string percent_decode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(text[i + 1]) &&
                   std::isxdigit(text[i + 2])) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

}  // namespace

Reply error_reply(int status, const std::string& error, const std::string& detail) {
    return {status, {{"error", error}, {"detail", detail}}};
}

Pistache::Async::Promise<ssize_t> send_json(Pistache::Http::ResponseWriter& response,
                                            const Reply& reply) {
    response.headers().add<Pistache::Http::Header::ContentType>(MIME(Application, Json));
    return response.send(static_cast<Pistache::Http::Code>(reply.status),
                         reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void answer(Pistache::Http::ResponseWriter& response, spdlog::logger& log,
            const std::function<Reply()>& handler) {
    Reply reply;
    try {
        reply = handler();
    } catch (const std::invalid_argument& e) {
        reply = error_reply(400, "bad_parameter", e.what());
    } catch (const std::exception& e) {
        log.error("request failed reason=\"{}\"", e.what());
        reply = error_reply(500, "internal_error", e.what());
    }
    send_json(response, reply);
}

std::optional<std::string> query_param(const Pistache::Http::Request& request,
                                       const std::string& key) {
    auto value = request.query().get(key);
    if (!value) {
        return std::nullopt;
    }
    return percent_decode(*value);
}

bool authorized(const Pistache::Http::Request& request, const std::string& token) {
    if (token.empty()) {
        return true;
    }
    auto header = request.headers().tryGetRaw("Authorization");
    std::string expected = "Bearer " + token;
    if (!header || header->value().size() != expected.size()) {
        return false;
    }
    unsigned char difference = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        difference |= static_cast<unsigned char>(header->value()[i] ^ expected[i]);
    }
    return difference == 0;
}

}  // namespace tdc::http
