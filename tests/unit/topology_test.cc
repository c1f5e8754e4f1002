#include "topology/topology.h"

#include <gtest/gtest.h>
#include <hwloc.h>
#include <sched.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace rankflow::topology {
namespace {

std::vector<int> Iota(int n, int stride = 1) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(i * stride);
  return v;
}

TEST(SplitCoresTest, EvenSplitIsContiguous) {
  std::vector<int> cores = Iota(8, 2);  // first PUs 0,2,4,...,14
  bool exclusive = false;
  EXPECT_EQ(SplitCores(cores, 0, 4, &exclusive), (std::vector<int>{0, 2}));
  EXPECT_TRUE(exclusive);
  EXPECT_EQ(SplitCores(cores, 1, 4, &exclusive), (std::vector<int>{4, 6}));
  EXPECT_EQ(SplitCores(cores, 3, 4, &exclusive), (std::vector<int>{12, 14}));
  EXPECT_TRUE(exclusive);
}

TEST(SplitCoresTest, RemainderGoesToFirstShares) {
  std::vector<int> cores = Iota(10);
  bool exclusive = false;
  EXPECT_EQ(SplitCores(cores, 0, 4, &exclusive), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(SplitCores(cores, 1, 4, &exclusive), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(SplitCores(cores, 2, 4, &exclusive), (std::vector<int>{6, 7}));
  EXPECT_EQ(SplitCores(cores, 3, 4, &exclusive), (std::vector<int>{8, 9}));
  EXPECT_TRUE(exclusive);
}

TEST(SplitCoresTest, SingleShareTakesAll) {
  std::vector<int> cores = {3, 7, 11};
  bool exclusive = false;
  EXPECT_EQ(SplitCores(cores, 0, 1, &exclusive), cores);
  EXPECT_TRUE(exclusive);
}

TEST(SplitCoresTest, FewerCoresThanSharersWrapAround) {
  std::vector<int> cores = {0, 4};
  bool exclusive = true;
  EXPECT_EQ(SplitCores(cores, 0, 5, &exclusive), (std::vector<int>{0}));
  EXPECT_FALSE(exclusive);
  exclusive = true;
  EXPECT_EQ(SplitCores(cores, 1, 5, &exclusive), (std::vector<int>{4}));
  EXPECT_FALSE(exclusive);
  EXPECT_EQ(SplitCores(cores, 2, 5, &exclusive), (std::vector<int>{0}));
  EXPECT_EQ(SplitCores(cores, 4, 5, &exclusive), (std::vector<int>{0}));
  EXPECT_FALSE(exclusive);
}

TEST(SplitCoresTest, InvalidArgumentsGiveNothing) {
  bool exclusive = true;
  EXPECT_TRUE(SplitCores({}, 0, 1, &exclusive).empty());
  EXPECT_FALSE(exclusive);
  EXPECT_TRUE(SplitCores({0, 1}, 0, 0, &exclusive).empty());
  EXPECT_TRUE(SplitCores({0, 1}, 2, 2, &exclusive).empty());
  EXPECT_TRUE(SplitCores({0, 1}, -1, 2, &exclusive).empty());
  EXPECT_EQ(SplitCores({0, 1}, 1, 2, nullptr), (std::vector<int>{1}));
}

TEST(SplitCoresTest, SharesPartitionCoresForAllSizes) {
  for (int ncores = 1; ncores <= 24; ++ncores) {
    std::vector<int> cores = Iota(ncores, 3);
    for (int sharers = 1; sharers <= ncores; ++sharers) {
      std::vector<int> joined;
      size_t smallest = cores.size(), largest = 0;
      for (int i = 0; i < sharers; ++i) {
        bool exclusive = false;
        std::vector<int> share = SplitCores(cores, i, sharers, &exclusive);
        ASSERT_TRUE(exclusive);
        ASSERT_FALSE(share.empty());
        smallest = std::min(smallest, share.size());
        largest = std::max(largest, share.size());
        joined.insert(joined.end(), share.begin(), share.end());
      }
      EXPECT_EQ(joined, cores) << ncores << " cores, " << sharers << " sharers";
      EXPECT_LE(largest - smallest, 1u);
    }
  }
}

// Affinity and pinning checks need the topology of the running machine.
bool TopologyIsThisSystem() { return std::getenv("HWLOC_XMLFILE") == nullptr; }

std::set<int> AffinityOfThisThread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::set<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.insert(cpu);
  }
  return cpus;
}

TEST(CpuShareTest, WholeShareIsWithinAffinity) {
  if (!TopologyIsThisSystem()) GTEST_SKIP() << "topology loaded from HWLOC_XMLFILE";
  Result<CpuShare> share = ComputeCpuShare(0, 1);
  ASSERT_TRUE(share.ok()) << share.status().ToString();
  ASSERT_GE(share->pus.size(), 1u);
  EXPECT_EQ(share->num_cores, static_cast<int>(share->pus.size()));
  EXPECT_TRUE(share->exclusive);
  std::set<int> allowed = AffinityOfThisThread();
  std::set<int> distinct(share->pus.begin(), share->pus.end());
  EXPECT_EQ(distinct.size(), share->pus.size());
  for (int pu : share->pus) EXPECT_TRUE(allowed.count(pu)) << "PU " << pu;
  // There is one PU per core, so never more than the PUs we may use.
  EXPECT_LE(share->pus.size(), allowed.size());
}

TEST(CpuShareTest, SharesOfTwoPartitionTheWhole) {
  Result<CpuShare> whole = ComputeCpuShare(0, 1);
  ASSERT_TRUE(whole.ok());
  int ncores = whole->num_cores;
  std::vector<int> joined;
  for (int i = 0; i < 2; ++i) {
    Result<CpuShare> part = ComputeCpuShare(i, 2);
    ASSERT_TRUE(part.ok()) << part.status().ToString();
    EXPECT_EQ(part->exclusive, ncores >= 2);
    if (ncores >= 2) joined.insert(joined.end(), part->pus.begin(), part->pus.end());
  }
  if (ncores >= 2) {
    EXPECT_EQ(joined, whole->pus);
  }
}

TEST(CpuShareTest, OversubscribedShareIsNotExclusive) {
  Result<CpuShare> whole = ComputeCpuShare(0, 1);
  ASSERT_TRUE(whole.ok());
  int sharers = whole->num_cores + 1;
  Result<CpuShare> last = ComputeCpuShare(sharers - 1, sharers);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_FALSE(last->exclusive);
  EXPECT_EQ(last->num_cores, 1);
  EXPECT_EQ(last->pus, (std::vector<int>{whole->pus[0]}));  // (ncores) % ncores == 0
}

TEST(CpuShareTest, RejectsBadShare) {
  EXPECT_EQ(ComputeCpuShare(0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeCpuShare(2, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeCpuShare(-1, 2).status().code(), StatusCode::kInvalidArgument);
}

TEST(CpuShareTest, CpusetStringCoversShare) {
  std::string text = ProcessCpusetString();
  ASSERT_FALSE(text.empty());
  hwloc_bitmap_t bitmap = hwloc_bitmap_alloc();
  ASSERT_EQ(hwloc_bitmap_list_sscanf(bitmap, text.c_str()), 0) << text;
  Result<CpuShare> share = ComputeCpuShare(0, 1);
  ASSERT_TRUE(share.ok());
  for (int pu : share->pus) EXPECT_TRUE(hwloc_bitmap_isset(bitmap, pu)) << pu << " in " << text;
  hwloc_bitmap_free(bitmap);
}

TEST(PinTest, PinsThreadToSharePu) {
  if (!TopologyIsThisSystem()) GTEST_SKIP() << "topology loaded from HWLOC_XMLFILE";
  Result<CpuShare> share = ComputeCpuShare(0, 1);
  ASSERT_TRUE(share.ok());
  const int target = share->pus.back();
  std::string cpuset_before = ProcessCpusetString();
  // Pin a helper thread so the test process itself stays unpinned.
  Status pinned;
  std::set<int> affinity;
  std::optional<Result<CpuShare>> share_after;
  std::thread worker([&] {
    pinned = PinCurrentThread(target);
    affinity = AffinityOfThisThread();
    share_after.emplace(ComputeCpuShare(0, 1));
  });
  worker.join();
  ASSERT_TRUE(pinned.ok()) << pinned.ToString();
  EXPECT_EQ(affinity, (std::set<int>{target}));
  // The share is computed from the binding captured at load, not the pin.
  ASSERT_TRUE(share_after->ok());
  EXPECT_EQ(share_after->value().pus, share->pus);
  EXPECT_EQ(ProcessCpusetString(), cpuset_before);
}

TEST(PinTest, RejectsUnknownPu) {
  EXPECT_EQ(PinCurrentThread(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PinCurrentThread(1 << 20).code(), StatusCode::kInvalidArgument);
}

TEST(GpuTest, CudaVisibleDevicesEntries) {
  EXPECT_EQ(CountCudaVisibleDevices(""), 0);
  EXPECT_EQ(CountCudaVisibleDevices("0"), 1);
  EXPECT_EQ(CountCudaVisibleDevices("0,1,3"), 3);
  EXPECT_EQ(CountCudaVisibleDevices("2, 3"), 2);
  EXPECT_EQ(CountCudaVisibleDevices("GPU-8b1f2d3c-aaaa,MIG-12ab"), 2);
  EXPECT_EQ(CountCudaVisibleDevices("-1"), 0);
  EXPECT_EQ(CountCudaVisibleDevices("NoDevFiles"), 0);
  EXPECT_EQ(CountCudaVisibleDevices("0,1,-1,2"), 2);  // CUDA stops at an invalid entry
  EXPECT_EQ(CountCudaVisibleDevices("0,0,1"), 1);
  EXPECT_EQ(CountCudaVisibleDevices("0,1,"), 2);
}

// Sets or unsets CUDA_VISIBLE_DEVICES for one scope.
class ScopedCudaVisible {
 public:
  explicit ScopedCudaVisible(const char* value) {
    if (const char* old = std::getenv(kName)) old_ = old;
    if (value != nullptr) {
      setenv(kName, value, 1);
    } else {
      unsetenv(kName);
    }
  }
  ~ScopedCudaVisible() {
    if (old_) {
      setenv(kName, old_->c_str(), 1);
    } else {
      unsetenv(kName);
    }
  }

 private:
  static constexpr const char* kName = "CUDA_VISIBLE_DEVICES";
  std::optional<std::string> old_;
};

TEST(GpuTest, CountHonoursCudaVisibleDevices) {
  int found = 0;
  {
    ScopedCudaVisible unset(nullptr);
    found = CountGpus();
  }
  EXPECT_GE(found, 0);
  {
    ScopedCudaVisible none("");
    EXPECT_EQ(CountGpus(), 0);
  }
  {
    ScopedCudaVisible one("0");
    EXPECT_EQ(CountGpus(), 1);
  }
  {
    ScopedCudaVisible many("0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
                           "26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47");
    EXPECT_EQ(CountGpus(), found > 0 ? found : 48);
  }
}

TEST(DescribeTest, MentionsCounts) {
  std::string line = Describe();
  EXPECT_NE(line.find(" cores"), std::string::npos) << line;
  EXPECT_NE(line.find(" PUs"), std::string::npos) << line;
  EXPECT_NE(line.find(" GPUs"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  std::cout << line << "\n";
}

}  // namespace
}  // namespace rankflow::topology
