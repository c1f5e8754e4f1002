// Init and Shutdown: detect the launch, bootstrap, build this rank's Runtime.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "bootstrap/host_identity.h"
#include "bootstrap/launch_env.h"
#include "bootstrap/mpi_bootstrap.h"
#include "bootstrap/store_setup.h"
#include "common/logging.h"
#include "control/election.h"
#include "rankflow/api.h"
#include "rankflow/version.h"
#include "runtime/runtime.h"
#include "topology/topology.h"
#include "transport/ucx_transport.h"

namespace rankflow {

namespace {
std::mutex g_mu;
std::shared_ptr<runtime::Runtime> g_runtime;

[[noreturn]] void Fail(const Status& st, const std::string& during) {
  RF_ERROR("{}: {}", during, st.ToString());
  throw Error(static_cast<ErrorCode>(st.code()), during + ": " + st.ToString());
}

template <typename T>
T Check(Result<T> r, const std::string& during) {
  if (!r.ok()) Fail(r.status(), during);
  return std::move(r).value();
}

std::string HostName() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// Executors, pinning and resources from this rank's share of the cores.
void PlanResources(const RuntimeConfig& config, int share_index, int share_count,
                   runtime::RuntimeDeps& deps) {
  auto share = topology::ComputeCpuShare(share_index, share_count);
  int cores = share.ok() ? std::max<int>(1, static_cast<int>(share->pus.size())) : 1;
  deps.num_executors = config.num_executors > 0 ? config.num_executors : cores;
  // Spinning pays only when this rank's threads do not steal another rank's core.
  deps.exclusive_cores = share.ok() && share->exclusive &&
                         static_cast<int>(share->pus.size()) >= deps.num_executors;
  if (config.pin_threads && share.ok() && share->exclusive &&
      static_cast<int>(share->pus.size()) >= deps.num_executors) {
    deps.pin_pus = share->pus;
  }
  deps.resources["CPU"] = deps.num_executors;
  int gpus = topology::CountGpus();
  if (gpus > 0) deps.resources["GPU"] = gpus;
  for (const auto& [k, v] : config.resources) deps.resources[k] = v;
}
}  // namespace

const char* Version() { return RANKFLOW_VERSION_STRING; }

void Init(int, char**) { Init(); }
void Init() { Init(0, nullptr, InitMode::kDriver); }

void Init(int, char**, InitMode mode) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_runtime) throw Error(ErrorCode::kInvalidArgument, "rankflow::Init called twice");
  RuntimeConfig config = Check(ParseRuntimeConfig(ProcessEnv()), "reading RANKFLOW_* settings");
  auto launch = Check(bootstrap::ParseProcessLaunchEnv(), "reading the launcher's environment");
  logging::Configure(launch.rank, HostName(), config.log_level);

  runtime::RuntimeDeps deps;
  deps.config = config;
  deps.host = HostName();
  bool multi = launch.launcher != bootstrap::Launcher::kNone;
  if (!multi) {
    PlanResources(config, 0, 1, deps);
    deps.store = Check(bootstrap::CreateLocalStore(config), "creating the object store");
  } else {
    auto boot = Check(bootstrap::MpiBootstrap::Start(config), "bootstrap");
    deps.rank = boot.rank;
    deps.size = boot.size;
    deps.node = boot.node;
    deps.host = boot.host;
    logging::Configure(boot.rank, boot.host, config.log_level);
    if (config.driver_rank < 0 || config.driver_rank >= boot.size) {
      Fail({StatusCode::kInvalidArgument, "RANKFLOW_DRIVER_RANK=" +
                                              std::to_string(config.driver_rank) +
                                              " is not a rank of this job"},
           "bootstrap");
    }
    deps.driver_rank = config.driver_rank;
    PlanResources(config, boot.cpu_share_index, boot.cpu_share_count, deps);

    transport::UcxOptions opts;
    opts.max_message = config.max_message_bytes;
    opts.max_body = bootstrap::StoreCapacity(config);
    opts.rndv_threshold = config.rndv_threshold;
    opts.spin_us = config.spin_us;
    opts.token = boot.token;
    auto ucx = Check(transport::UcxTransport::Create(boot.rank, boot.size, opts), "UCX setup");
    auto addresses = Check(bootstrap::MpiBootstrap::ExchangeAddresses(ucx->LocalAddress()),
                           "exchanging UCX addresses");
    Status st = ucx->SetPeerAddresses(std::move(addresses));
    if (!st.ok()) Fail(st, "UCX setup");
    if (config.shm_links) {
      // Ranks of this host: shared-memory links, deaths seen by process handle.
      const bootstrap::ProcessIdentity self = bootstrap::ThisProcess();
      auto raw = Check(bootstrap::MpiBootstrap::ExchangeAddresses(bootstrap::EncodeIdentity(self)),
                       "exchanging process identities");
      std::vector<bootstrap::ProcessIdentity> all(raw.size());
      for (size_t r = 0; r < raw.size(); ++r) bootstrap::DecodeIdentity(raw[r], &all[r]);
      ucx->UseSharedMemoryWith(bootstrap::SameHostPids(self, boot.rank, all));
    }

    auto node_store = Check(bootstrap::SetUpNodeStore(boot, config), "creating the object store");
    deps.store = std::move(node_store.store);
    deps.rank_nodes = std::move(node_store.rank_nodes);

    const char* willing_env = std::getenv("RANKFLOW_CONTROL_CANDIDATE");
    int willing = (willing_env != nullptr && std::string(willing_env) == "0") ? 0 : 1;
    auto flags = Check(bootstrap::MpiBootstrap::AllGatherInt(willing), "election");
    std::vector<control::Candidate> candidates;
    for (int r = 0; r < boot.size; ++r) {
      candidates.push_back({r, true, r == deps.driver_rank, flags[r] != 0});
    }
    deps.control_rank = control::ElectControlRank(candidates);
    if (deps.control_rank < 0) {
      Fail({StatusCode::kInvalidArgument, "no rank is willing to host the control service"},
           "election");
    }
    bootstrap::MpiBootstrap::Finish(config);
    deps.transport = std::move(ucx);
  }
  RF_DEBUG("rank {}/{} node {} executors {} control rank {} ({})", deps.rank, deps.size, deps.node,
           deps.num_executors, deps.control_rank, bootstrap::LauncherName(launch.launcher));

  auto rt = std::make_shared<runtime::Runtime>(std::move(deps));
  if (mode == InitMode::kSpmd) rt->EnableSpmd();
  Status st = rt->Start();
  if (!st.ok()) Fail(st, "starting the runtime");
  if (mode == InitMode::kDriver && rt->rank() != rt->config().driver_rank && rt->size() > 1) {
    // Serve until the driver ends the job, then leave with its verdict.
    runtime::Runtime::SetCurrent(rt.get());
    int code = rt->ServeUntilShutdown();
    runtime::Runtime::SetCurrent(nullptr);
    rt.reset();
    bootstrap::MpiBootstrap::FinalizeIfKept();
    std::exit(code);
  }
  g_runtime = rt;
  runtime::Runtime::SetGlobal(rt.get());
  runtime::Runtime::SetCurrent(rt.get());
}

void Shutdown() {
  std::shared_ptr<runtime::Runtime> rt;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    rt = std::move(g_runtime);
  }
  if (!rt) return;
  rt->Shutdown();
  runtime::Runtime::SetGlobal(nullptr);
  runtime::Runtime::SetCurrent(nullptr);
  rt.reset();
  bootstrap::MpiBootstrap::FinalizeIfKept();
}

bool IsInitialized() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_runtime != nullptr;
}

int Rank() { return runtime::Runtime::CurrentOrThrow().rank(); }
int Size() { return runtime::Runtime::CurrentOrThrow().size(); }

}  // namespace rankflow
