#include "common/wire.hpp"

#include <gtest/gtest.h>

namespace tdc::wire {
namespace {

template <class Message>
Message round_trip(const Message& message) {
    zmq::message_t frame = encode(message);
    EXPECT_EQ(peek_kind(frame), Message::kKind);
    return decode<Message>(frame);
}

TEST(Wire, LoadBeginRoundTrips) {
    LoadBegin begin;
    begin.table = "reference";
    begin.mode = "append";
    begin.columns = {{"AColumnOfNumbers", "integer"}, {"note \"x\"", "text"}};
    LoadBegin back = round_trip(begin);
    EXPECT_EQ(back.table, "reference");
    EXPECT_EQ(back.mode, "append");
    ASSERT_EQ(back.columns.size(), 2u);
    EXPECT_EQ(back.columns[1].name, "note \"x\"");
    EXPECT_EQ(back.columns[1].type, "text");
}

TEST(Wire, LoadBatchCarriesItsCopyTextByteForByte) {
    LoadBatch batch;
    batch.seq = 7;
    batch.rows = 2;
    batch.copy_text = "1\t\\N\t\n2\tZ\xC3\xBCrich \\t\\\\\t\"x\"\n";
    LoadBatch back = round_trip(batch);
    EXPECT_EQ(back.seq, 7u);
    EXPECT_EQ(back.rows, 2u);
    EXPECT_EQ(back.copy_text, batch.copy_text);
}

TEST(Wire, LoadBatchCarriesBinaryCopyAsMsgpackBin) {
    LoadBegin begin;
    begin.format = "binary";
    EXPECT_EQ(round_trip(begin).format, "binary");
    EXPECT_EQ(round_trip(LoadBegin()).format, "text");

    LoadBatch batch;
    batch.rows = 1;
    const std::string tuple("\0\1\0\0\0\4\xFF\xFF\xFF\xFB", 10);
    batch.copy_binary.assign(tuple.begin(), tuple.end());
    const zmq::message_t frame = encode(batch);
    const auto handle = msgpack::unpack(frame.data<char>(), frame.size());
    bool bin = false;
    const msgpack::object_map& map = handle.get().via.map;
    for (std::uint32_t i = 0; i < map.size; ++i) {
        if (map.ptr[i].key.as<std::string>() == "copy_binary") {
            bin = map.ptr[i].val.type == msgpack::type::BIN;
        }
    }
    EXPECT_TRUE(bin);
    EXPECT_EQ(decode<LoadBatch>(frame).copy_binary, batch.copy_binary);
}

TEST(Wire, EventRoundTripsEveryValueType) {
    Event event;
    event.view = "reference_current_second";
    event.table = "reference";
    event.seq = 42;
    event.as_of = "2026-12-03T15:04:05.123456Z";
    event.row_count = 1;
    event.columns = {"a", "b", "c", "d", "e"};
    event.rows = {{Value::of_integer(-5), Value::of_float(1.5), Value::of_boolean(true),
                   Value::of_text("x"), Value{}}};
    Event back = round_trip(event);
    EXPECT_EQ(back.seq, 42u);
    EXPECT_EQ(back.as_of, event.as_of);
    EXPECT_EQ(back.columns, event.columns);
    ASSERT_EQ(back.rows.size(), 1u);
    EXPECT_EQ(back.rows[0], event.rows[0]);
}

TEST(Wire, RefreshAndRefreshedRoundTrip) {
    Refresh refresh;
    refresh.tick = 1796310245;
    EXPECT_EQ(round_trip(refresh).tick, 1796310245);
    Refreshed refreshed;
    refreshed.view = "v";
    refreshed.as_of = "2026-12-03T15:04:05.000100Z";
    EXPECT_EQ(round_trip(refreshed).as_of, refreshed.as_of);
}

// `refreshed` gained duration_ms, rows and merged_ticks without a version change: a map
// without them still decodes (fields at their defaults), and a receiver that knows only the
// old fields skips the new keys.
struct OldRefreshed {
    std::string kind{"refreshed"};
    int v = kVersion;
    std::string view = "old_view";
    std::string table;
    std::string as_of;
    std::int64_t tick = 7;
    MSGPACK_DEFINE_MAP(kind, v, view, table, as_of, tick);
};

TEST(Wire, RefreshedWithAndWithoutTheLaterFieldsDecodesBothWays) {
    Refreshed from_old = decode<Refreshed>(encode(OldRefreshed{}));
    EXPECT_EQ(from_old.view, "old_view");
    EXPECT_EQ(from_old.duration_ms, -1);
    EXPECT_EQ(from_old.rows, -1);

    Refreshed current;
    current.view = "new_view";
    current.tick = 8;
    current.duration_ms = 1.25;
    current.rows = 3;
    current.merged_ticks = 2;
    zmq::message_t frame = encode(current);
    OldRefreshed old;
    msgpack::unpack(frame.data<char>(), frame.size()).get().convert(old);
    EXPECT_EQ(old.view, "new_view");
    EXPECT_EQ(old.tick, 8);
    Refreshed back = round_trip(current);
    EXPECT_EQ(back.duration_ms, 1.25);
    EXPECT_EQ(back.rows, 3);
    EXPECT_EQ(back.merged_ticks, 2);
}

TEST(Wire, BrokerReportsRoundTrip) {
    RefreshFailed failed;
    failed.view = "v";
    failed.error = "boom";
    failed.merged_ticks = 1;
    EXPECT_EQ(round_trip(failed).error, "boom");
    EventPublished event;
    event.view = "v";
    event.seq = 12;
    EXPECT_EQ(round_trip(event).seq, 12u);
}

TEST(Wire, RouteRoundTrips) {
    Route route;
    route.service = "loader";
    route.session = "host-1-2";
    route.client = std::string("\0ab", 3);
    route.last = true;
    Route back = decode_route(encode(route));
    EXPECT_EQ(back.service, "loader");
    EXPECT_EQ(back.client, route.client);
    EXPECT_TRUE(back.last);
}

TEST(Wire, DecodingTheWrongKindNamesBoth) {
    Refresh refresh;
    try {
        decode<LoadBegin>(encode(refresh));
        FAIL() << "decode accepted the wrong kind";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("expected load_begin, got refresh"),
                  std::string::npos);
    }
}

TEST(Wire, DecodingAnotherVersionIsRefused) {
    Refresh refresh;
    refresh.v = kVersion + 1;
    EXPECT_THROW(decode<Refresh>(encode(refresh)), Error);
    EXPECT_THROW(peek_kind(encode(refresh)), Error);
}

TEST(Wire, GarbageIsAnError) {
    zmq::message_t garbage(std::string("\xc1\xc1\xc1"));
    EXPECT_THROW(peek_kind(garbage), Error);
    EXPECT_THROW(decode<Event>(garbage), Error);
}

// Five bytes announcing an array (or map) of 4,294,967,295 elements used to make msgpack
// allocate 64 GiB (128 GiB) before reading any element: std::bad_alloc escaped decode() and
// took down the broker, and every subscriber of a rogue publisher's event.
TEST(Wire, AFrameAnnouncingBillionsOfElementsIsAnErrorNotAnAllocation) {
    for (const std::string& bytes :
         {std::string("\xdd\xff\xff\xff\xff", 5), std::string("\xdf\xff\xff\xff\xff", 5)}) {
        zmq::message_t frame(bytes.data(), bytes.size());
        EXPECT_THROW(decode<Ready>(frame), Error);
        EXPECT_THROW(decode<Event>(frame), Error);
        EXPECT_THROW(peek_kind(frame), Error);
        EXPECT_THROW(decode_route(frame), Error);
    }
}

// The same announcement inside a well-formed event, as a rogue publisher would send it.
TEST(Wire, AnEventWhoseRowsAnnounceBillionsOfElementsIsAnError) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(3);
    packer.pack(std::string("kind"));
    packer.pack(std::string(Event::kKind));
    packer.pack(std::string("v"));
    packer.pack(kVersion);
    packer.pack(std::string("rows"));
    buffer.write("\xdd\xff\xff\xff\xff", 5);
    zmq::message_t frame(buffer.data(), buffer.size());
    EXPECT_THROW(decode<Event>(frame), Error);
}

}  // namespace
}  // namespace tdc::wire
