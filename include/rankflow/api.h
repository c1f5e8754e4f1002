// rankflow/api.h — starting and stopping the runtime; Get, Wait, Put.
//
//   int main(int argc, char** argv) {
//     rankflow::Init(argc, argv);       // alone, under mpirun, or under srun
//     auto ref = rankflow::Task(Simulate).Remote(1, params);
//     double v = *rankflow::Get(ref);
//     rankflow::Shutdown();
//   }
//
// On the driver rank Init() returns and main() runs; on every other rank
// Init() serves tasks until the driver calls Shutdown(), then exits the
// process with status 0. Thread safety: Init/Shutdown from the main thread;
// everything else from any thread, including inside tasks.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "rankflow/arrays.h"
#include "rankflow/object_ref.h"
#include "rankflow/serialization.h"

namespace rankflow {

/// How a job's ranks run main().
enum class InitMode {
  /// Init returns on the driver rank only (RANKFLOW_DRIVER_RANK, default 0);
  /// every other rank serves tasks until the driver's Shutdown, then exits.
  kDriver,
  /// Init returns on every rank and every rank runs main() (SPMD, as an MPI
  /// program): each rank submits and owns tasks of its own, and collective
  /// tasks (Task(f).SetOwner(rank)) form one graph across the ranks. Every
  /// rank calls Shutdown(); it returns once all ranks have (docs/spmd.md).
  kSpmd,
};

/// Starts the runtime. Reads RANKFLOW_* variables (see docs/configuration.md).
void Init(int argc, char** argv);
void Init(int argc, char** argv, InitMode mode);
/// Starts the runtime without command-line arguments.
void Init();
/// Stops every rank of the job (from the driver) and releases resources.
/// In SPMD mode every rank calls it; it returns when all ranks have.
void Shutdown();
/// True between Init() and Shutdown().
bool IsInitialized();
/// This process's rank and the job's size.
int Rank();
int Size();

/// Stores `value` as an object owned by this rank. Objects of
/// RANKFLOW_INLINE_BYTES and more go to the node's shared store (arrays and
/// strings with exactly one copy); see rankflow/arrays.h to skip even that.
template <typename T>
ObjectRef<std::decay_t<T>> Put(T&& value) {
  using V = std::decay_t<T>;
  if constexpr (internal::IsRawVector<V>::value || std::is_same_v<V, std::string>) {
    const uint64_t bytes = sizeof(uint64_t) + value.size() * sizeof(typename V::value_type);
    if (bytes >= internal::InlineLimit()) {
      internal::WritableObject object = internal::CreateObject(bytes);
      const uint64_t n = value.size();
      std::memcpy(object.data, &n, sizeof(n));
      std::memcpy(object.data + sizeof(n), value.data(), bytes - sizeof(n));
      return ObjectRef<V>(internal::SealObject(std::move(object)));
    }
  }
  if constexpr (!internal::kIsRawValue<V> && !internal::IsRawVector<V>::value &&
                !std::is_same_v<V, std::string>) {
    internal::BeginExportCapture();  // references inside `value` belong to the new object
  }
  return ObjectRef<V>(internal::PutBytes(Encode<V>(value)));
}

/// Waits for the object and returns its value. Throws TaskError if the task
/// failed, rankflow::Error for runtime failures (e.g. its rank died).
template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T>& ref) {
  Buffer b = internal::GetBytes(*ref.handle(), -1);
  return std::make_shared<T>(internal::DecodeStored<T>(b));
}

/// As Get(ref), but throws TimeoutError after `timeout_ms` milliseconds.
template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T>& ref, int64_t timeout_ms) {
  Buffer b = internal::GetBytes(*ref.handle(), timeout_ms);
  return std::make_shared<T>(internal::DecodeStored<T>(b));
}

/// Waits for a task without a result (void function); rethrows its error.
inline void Get(const ObjectRef<void>& ref, int64_t timeout_ms = -1) {
  internal::GetBytes(*ref.handle(), timeout_ms);
}

/// Gets every ref in order.
template <typename T>
std::vector<std::shared_ptr<T>> Get(const std::vector<ObjectRef<T>>& refs) {
  std::vector<std::shared_ptr<T>> out;
  out.reserve(refs.size());
  for (const auto& r : refs) out.push_back(Get(r));
  return out;
}

/// The outcome of Wait: refs split into ready and not ready, order kept.
template <typename T>
struct WaitResult {
  std::vector<ObjectRef<T>> ready;
  std::vector<ObjectRef<T>> unready;
};

/// Waits until `num_objects` of `refs` are ready (finished or failed) or
/// `timeout_ms` passes (< 0: no limit). Never throws for task failures.
template <typename T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>>& refs, int num_objects,
                   int64_t timeout_ms = -1) {
  std::vector<const internal::RefHandle*> hs;
  hs.reserve(refs.size());
  for (const auto& r : refs) hs.push_back(r.handle().get());
  std::vector<bool> ready = internal::WaitHandles(hs, num_objects, timeout_ms);
  WaitResult<T> out;
  for (size_t i = 0; i < refs.size(); ++i) (ready[i] ? out.ready : out.unready).push_back(refs[i]);
  return out;
}

}  // namespace rankflow
