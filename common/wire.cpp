#include "common/wire.hpp"

namespace tdc::wire {

Value Value::of_integer(std::int64_t value) {
    Value v;
    v.type = Type::Integer;
    v.integer = value;
    return v;
}

Value Value::of_float(double value) {
    Value v;
    v.type = Type::Float;
    v.real = value;
    return v;
}

Value Value::of_boolean(bool value) {
    Value v;
    v.type = Type::Boolean;
    v.boolean = value;
    return v;
}

Value Value::of_text(std::string value) {
    Value v;
    v.type = Type::Text;
    v.text = std::move(value);
    return v;
}

bool Value::operator==(const Value& other) const {
    if (type != other.type) {
        return false;
    }
    switch (type) {
        case Type::Null:
            return true;
        case Type::Integer:
            return integer == other.integer;
        case Type::Float:
            return real == other.real;
        case Type::Boolean:
            return boolean == other.boolean;
        case Type::Text:
            return text == other.text;
    }
    return false;
}

namespace {

struct Header {
    std::string kind;
    int v = 0;
    MSGPACK_DEFINE_MAP(kind, v);
};

}  // namespace

msgpack::object_handle unpack(const zmq::message_t& frame) {
    constexpr std::size_t kMaxDepth = 64;  // our messages nest 4 deep
    const std::size_t bytes = frame.size();
    const msgpack::unpack_limit limit(bytes, bytes, bytes, bytes, bytes, kMaxDepth);
    return msgpack::unpack(frame.data<char>(), bytes, nullptr, nullptr, limit);
}

std::string peek_kind(const zmq::message_t& frame) {
    Header header;
    try {
        auto handle = unpack(frame);
        handle.get().convert(header);
    } catch (const std::exception& e) {
        throw Error(std::string("decode failed: not a tinydevcrm message: ") + e.what());
    }
    if (header.v != kVersion) {
        throw Error("decode failed: " + header.kind + " has version " + std::to_string(header.v) +
                    ", this build speaks " + std::to_string(kVersion));
    }
    return header.kind;
}

Route decode_route(const zmq::message_t& frame) {
    Route route;
    try {
        auto handle = unpack(frame);
        handle.get().convert(route);
    } catch (const std::exception& e) {
        throw Error(std::string("decode failed: route frame: ") + e.what());
    }
    return route;
}

}  // namespace tdc::wire

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
    namespace adaptor {

    const msgpack::object& convert<tdc::wire::Value>::operator()(const msgpack::object& in,
                                                                 tdc::wire::Value& value) const {
        using tdc::wire::Value;
        switch (in.type) {
            case msgpack::type::NIL:
                value = Value{};
                break;
            case msgpack::type::BOOLEAN:
                value = Value::of_boolean(in.via.boolean);
                break;
            case msgpack::type::POSITIVE_INTEGER:
            case msgpack::type::NEGATIVE_INTEGER:
                value = Value::of_integer(in.as<std::int64_t>());
                break;
            case msgpack::type::FLOAT32:
            case msgpack::type::FLOAT64:
                value = Value::of_float(in.via.f64);
                break;
            case msgpack::type::STR:
                value = Value::of_text(in.as<std::string>());
                break;
            default:
                throw msgpack::type_error();
        }
        return in;
    }

    }  // namespace adaptor
}
}  // namespace msgpack
