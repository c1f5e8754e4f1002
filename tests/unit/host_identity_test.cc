// Which peers get shared-memory links: process identities, and whether
// UCX_TLS leaves UCX a shared-memory transport.
#include <gtest/gtest.h>
#include <unistd.h>

#include "bootstrap/host_identity.h"
#include "transport/ucx_transport.h"

namespace rankflow::bootstrap {
namespace {

TEST(HostIdentity, ThisProcessHasItsPidAndAHostKey) {
  ProcessIdentity me = ThisProcess();
  EXPECT_EQ(me.pid, static_cast<int>(getpid()));
  EXPECT_FALSE(me.host_key.empty());
  EXPECT_EQ(ThisProcess().host_key, me.host_key);
}

TEST(HostIdentity, EncodesAndDecodes) {
  ProcessIdentity in{4242, "boot-id/4026531836"};
  ProcessIdentity out;
  ASSERT_TRUE(DecodeIdentity(EncodeIdentity(in), &out));
  EXPECT_EQ(out.pid, 4242);
  EXPECT_EQ(out.host_key, in.host_key);
}

TEST(HostIdentity, RejectsBytesThatAreNoIdentity) {
  ProcessIdentity out;
  EXPECT_FALSE(DecodeIdentity({}, &out));
  EXPECT_FALSE(DecodeIdentity({1, 2}, &out));
  EXPECT_FALSE(DecodeIdentity(EncodeIdentity(ProcessIdentity{0, "x"}), &out));
  EXPECT_FALSE(DecodeIdentity(EncodeIdentity(ProcessIdentity{-5, "x"}), &out));
}

TEST(HostIdentity, SameHostPidsPicksPeersWithTheSameKeyButNotSelf) {
  std::vector<ProcessIdentity> all = {{100, "a"}, {101, "a"}, {102, "b"}, {103, ""}, {104, "a"}};
  EXPECT_EQ(SameHostPids(all[0], 0, all), (std::vector<int>{0, 101, 0, 0, 104}));
  EXPECT_EQ(SameHostPids(all[2], 2, all), (std::vector<int>{0, 0, 0, 0, 0}));
  // A rank that does not know its host shares memory with nobody.
  EXPECT_EQ(SameHostPids(all[3], 3, all), (std::vector<int>{0, 0, 0, 0, 0}));
}

TEST(UcxTls, SharedMemoryAllowedUnlessTheListLeavesItOut) {
  using transport::UcxTransport;
  EXPECT_TRUE(UcxTransport::TlsAllowsSharedMemory(nullptr));
  EXPECT_TRUE(UcxTransport::TlsAllowsSharedMemory(""));
  EXPECT_TRUE(UcxTransport::TlsAllowsSharedMemory("all"));
  EXPECT_TRUE(UcxTransport::TlsAllowsSharedMemory("sm,self"));
  EXPECT_TRUE(UcxTransport::TlsAllowsSharedMemory("rc,posix,self"));
  EXPECT_TRUE(UcxTransport::TlsAllowsSharedMemory("^tcp"));
  EXPECT_FALSE(UcxTransport::TlsAllowsSharedMemory("tcp,self"));
  EXPECT_FALSE(UcxTransport::TlsAllowsSharedMemory("rc,ud"));
  EXPECT_FALSE(UcxTransport::TlsAllowsSharedMemory("^sm"));
  EXPECT_FALSE(UcxTransport::TlsAllowsSharedMemory("^all"));
}

}  // namespace
}  // namespace rankflow::bootstrap
