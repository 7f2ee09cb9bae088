// Key files as `tinydevcrm keygen` writes them and every process reads them, and the socket
// helper that applies them.
#include "common/curve.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "common/config.hpp"
#include "common/sockets.hpp"

namespace tdc {
namespace {

class CurveTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("tdc-curve-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static unsigned mode_of(const std::filesystem::path& file) {
        struct stat info {};
        stat(file.c_str(), &info);
        return info.st_mode & 0777;
    }

    // The ConfigError message of `read`, or "" when it succeeds.
    template <class Read>
    static std::string error_of(Read read) {
        try {
            read();
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    }

    std::filesystem::path dir_;
};

TEST_F(CurveTest, KeygenWritesAPairWithTheSecretForItsOwnerOnly) {
    mode_t old_umask = umask(0);  // the secret's mode must not depend on the umask
    CurveKeyPair pair = write_key_pair(dir_ / "keys" / "loader");
    umask(old_umask);

    EXPECT_EQ(mode_of(dir_ / "keys" / "loader.secret"), 0600u);
    EXPECT_EQ(mode_of(dir_ / "keys" / "loader.public"), 0644u);
    EXPECT_EQ(mode_of(dir_ / "keys"), 0700u);
    EXPECT_EQ(pair.public_key.size(), 40u);
    EXPECT_EQ(read_public_key("k", dir_ / "keys" / "loader.public"), pair.public_key);
    CurveKeyPair read = read_secret_key("k", dir_ / "keys" / "loader.secret");
    EXPECT_EQ(read.secret_key, pair.secret_key);
    EXPECT_EQ(read.public_key, pair.public_key) << "the public key is derived from the secret";
}

TEST_F(CurveTest, KeygenNeverOverwritesAKey) {
    CurveKeyPair first = write_key_pair(dir_ / "broker");
    EXPECT_THROW(write_key_pair(dir_ / "broker"), std::runtime_error);
    EXPECT_EQ(read_public_key("k", dir_ / "broker.public"), first.public_key);
}

TEST_F(CurveTest, SecretKeyReadableByOthersIsRefusedWithoutShowingIt) {
    CurveKeyPair pair = write_key_pair(dir_ / "host");
    std::filesystem::permissions(dir_ / "host.secret", std::filesystem::perms::group_read,
                                 std::filesystem::perm_options::add);

    std::string error =
        error_of([&] { read_secret_key("security.secret_key", dir_ / "host.secret"); });

    EXPECT_NE(error.find("security.secret_key: " + (dir_ / "host.secret").string() +
                         ": a secret key must be readable by its owner only (mode 0640)"),
              std::string::npos)
        << error;
    EXPECT_EQ(error.find(pair.secret_key), std::string::npos);
}

TEST_F(CurveTest, MissingOrMalformedKeyFilesAreNamed) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "bad.public") << "not a key\n";
    EXPECT_NE(error_of([&] {
                  read_public_key("security.broker_public_key", dir_ / "nope");
              }).find("security.broker_public_key: " + (dir_ / "nope").string() + ": No such file"),
              std::string::npos);
    EXPECT_NE(error_of([&] { read_public_key("k", dir_ / "bad.public"); }).find("not a CURVE key"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  read_public_keys("security.stage_keys", dir_ / "absent");
              }).find("security.stage_keys: "),
              std::string::npos);
}

TEST_F(CurveTest, FolderOfAllowedKeysReadsOnlyPublicFiles) {
    CurveKeyPair a = write_key_pair(dir_ / "a");
    CurveKeyPair b = write_key_pair(dir_ / "b");
    std::ofstream(dir_ / "README") << "not read\n";

    std::set<std::string> keys = read_public_keys("k", dir_);

    EXPECT_EQ(keys, (std::set<std::string>{a.public_key, b.public_key}));
}

TEST_F(CurveTest, ClientSocketCarriesTheKeysAndTheEventQueue) {
    SocketPolicy policy;
    policy.event_queue = 7;
    policy.curve = SocketPolicy::Curve{write_key_pair(dir_ / "client"),
                                       write_key_pair(dir_ / "server").public_key};
    zmq::context_t context;

    zmq::socket_t sub = client_socket(context, zmq::socket_type::sub, policy);
    zmq::socket_t dealer = client_socket(context, zmq::socket_type::dealer, SocketPolicy{});

    EXPECT_EQ(sub.get(zmq::sockopt::curve_serverkey, 41), policy.curve->server_key);
    EXPECT_EQ(sub.get(zmq::sockopt::curve_publickey, 41), policy.curve->keys.public_key);
    EXPECT_EQ(sub.get(zmq::sockopt::rcvhwm), 7);
    EXPECT_EQ(sub.get(zmq::sockopt::mechanism), ZMQ_CURVE);
    EXPECT_EQ(dealer.get(zmq::sockopt::mechanism), ZMQ_NULL);
    EXPECT_EQ(dealer.get(zmq::sockopt::sndhwm), 1000) << "bus sockets keep ZeroMQ's default";
}

}  // namespace
}  // namespace tdc
