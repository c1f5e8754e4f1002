// The non-template half of the public API (rankflow/internal/core.h).
#include <cstring>

#include "objects/ref_handle.h"
#include "actors/actor_host.h"
#include "rankflow/actor.h"
#include "rankflow/api.h"
#include "rankflow/task.h"
#include "runtime/runtime.h"
#include "scheduler/executor_pool.h"

namespace rankflow {
namespace internal {

std::string ObjectId::ToString() const {
  constexpr uint64_t kNamed = objects::ObjectTable::kNamedSeqBit;  // a collective task's: "c<n>"
  if ((seq & kNamed) != 0) return std::to_string(owner) + ":c" + std::to_string(seq & ~kNamed);
  return std::to_string(owner) + ":" + std::to_string(seq);
}

ObjectId IdOf(const RefHandle& handle) { return handle.id(); }

Buffer ArgReader::NextBytes(const Buffer& owner) {
  if (end_ - p_ < 5) throw Error(ErrorCode::kTypeMismatch, "fewer arguments than the function takes");
  uint8_t tag = p_[0];
  uint32_t len;
  std::memcpy(&len, p_ + 1, sizeof(len));
  const bool known = tag == static_cast<uint8_t>(ArgTag::kValue) ||
                     tag == static_cast<uint8_t>(ArgTag::kResolved) ||
                     (tag == static_cast<uint8_t>(ArgTag::kStored) && len == 16);
  if (!known || len > static_cast<size_t>(end_ - p_ - 5)) {
    throw Error(ErrorCode::kTypeMismatch, "argument bytes are malformed");
  }
  const uint8_t* start = p_ + 5;
  p_ = start + len;
  // A value the submitter encoded carries counts for its references (adopted
  // by the one decode); one copied from a stored object does not.
  runtime::SetImportOwn(tag != static_cast<uint8_t>(ArgTag::kValue));
  if (tag == static_cast<uint8_t>(ArgTag::kStored)) {
    // An object in this node's store, held by its owner until the task ends.
    uint64_t off, size;
    std::memcpy(&off, start, 8);
    std::memcpy(&size, start + 8, 8);
    return runtime::Runtime::CurrentOrThrow().StoredArgument(off, size);
  }
  return owner.Slice(static_cast<size_t>(start - owner.data()), len);
}

void ThrowDecodeError(const char* type_name, size_t got, const std::string& why) {
  throw Error(ErrorCode::kTypeMismatch, std::string("cannot decode a value of type ") + type_name +
                                            " from " + std::to_string(got) + " bytes: " + why);
}

void ThrowUnregistered(const char* what) {
  throw Error(ErrorCode::kNotFound,
              std::string(what) + " is not registered: add RANKFLOW_REMOTE(fn) at namespace scope "
                                  "or call rankflow::Register(\"name\", fn) before Init()");
}

std::shared_ptr<RefHandle> Submit(SubmitRequest& request) {
  return runtime::Runtime::CurrentOrThrow().Submit(request);
}

std::shared_ptr<RefHandle> Submit(SubmitRequest&& request) {
  return runtime::Runtime::CurrentOrThrow().Submit(request);
}

namespace {
struct ThreadRequest {
  SubmitRequest request;
  bool taken = false;
};
thread_local ThreadRequest tls_request;
}  // namespace

SubmitRequest* TakeThreadRequest() {
  if (tls_request.taken) return nullptr;
  tls_request.taken = true;
  return &tls_request.request;
}

void GiveBackThreadRequest(SubmitRequest* request) {
  // Emptied (capacity kept); after a throw it may still hold arguments.
  request->args.clear();
  request->refs.clear();
  if (request->args.capacity() > 4096) request->args.shrink_to_fit();  // no large leftovers
  tls_request.taken = false;
}

std::shared_ptr<RefHandle> PutBytes(std::vector<uint8_t>&& bytes) {
  return runtime::Runtime::CurrentOrThrow().Put(std::move(bytes));
}

WritableObject CreateObject(uint64_t bytes) {
  return runtime::Runtime::CurrentOrThrow().CreateObject(bytes);
}

std::shared_ptr<RefHandle> SealObject(WritableObject&& object) {
  return runtime::Runtime::CurrentOrThrow().SealObject(std::move(object));
}

uint64_t InlineLimit() { return runtime::Runtime::CurrentOrThrow().inline_bytes(); }

void BeginExportCapture() { runtime::TakeExports(); }

ImportOwnGuard::ImportOwnGuard() : previous_(runtime::SetImportOwn(true)) {}
ImportOwnGuard::~ImportOwnGuard() { runtime::SetImportOwn(previous_); }

ExportedRef ExportRef(const std::shared_ptr<RefHandle>& handle) {
  return runtime::Runtime::CurrentOrThrow().ExportRef(handle);
}

std::shared_ptr<RefHandle> ImportRef(const ObjectId& id, uint64_t token) {
  return runtime::Runtime::CurrentOrThrow().ImportRef(id, token);
}

Buffer GetBytes(const RefHandle& handle, int64_t timeout_ms) {
  auto& rt = runtime::Runtime::CurrentOrThrow();
  auto r = rt.Get(handle.id(), timeout_ms);
  if (!r.ok()) {
    const Status& st = r.status();
    if (st.code() == StatusCode::kTimeout) {
      throw TimeoutError("Get(" + handle.id().ToString() + "): not ready within " +
                         std::to_string(timeout_ms) + " ms");
    }
    throw Error(static_cast<ErrorCode>(st.code()), "Get(" + handle.id().ToString() + "): " + st.message());
  }
  const objects::ObjectValue& v = r.value();
  if (v.error) {
    if (v.error->code == StatusCode::kTaskFailed) {
      throw TaskError(v.error->task_name, v.error->rank, v.error->message);
    }
    std::string where = v.error->task_name.empty() ? "" : "task '" + v.error->task_name + "': ";
    throw Error(static_cast<ErrorCode>(v.error->code), where + v.error->message);
  }
  return v.data;
}

std::vector<bool> WaitHandles(const std::vector<const RefHandle*>& handles, int num_ready,
                              int64_t timeout_ms) {
  std::vector<ObjectId> ids;
  ids.reserve(handles.size());
  for (const auto* h : handles) {
    if (h == nullptr) throw Error(ErrorCode::kInvalidArgument, "Wait() on an empty ObjectRef");
    ids.push_back(h->id());
  }
  if (num_ready < 0 || num_ready > static_cast<int>(ids.size())) {
    throw Error(ErrorCode::kInvalidArgument, "Wait(): num_objects must be between 0 and " +
                                                 std::to_string(ids.size()));
  }
  return runtime::Runtime::CurrentOrThrow().Wait(ids, num_ready, timeout_ms);
}

}  // namespace internal
}  // namespace rankflow

namespace rankflow::internal {

ActorId CreateActor(const std::string* factory, const ActorOptions& options, uint32_t num_args,
                    std::vector<uint8_t>&& args, std::vector<std::shared_ptr<RefHandle>>&& refs) {
  return runtime::Runtime::CurrentOrThrow().CreateActor(factory, options, num_args,
                                                        std::move(args), std::move(refs));
}

std::shared_ptr<RefHandle> CallActor(const ActorId& actor, const std::string* method,
                                     const std::string& display_name, uint32_t num_args,
                                     std::vector<uint8_t>&& args,
                                     std::vector<std::shared_ptr<RefHandle>>&& refs) {
  return runtime::Runtime::CurrentOrThrow().CallActor(actor, method, display_name, num_args,
                                                      std::move(args), std::move(refs));
}

void KillActor(const ActorId& actor) { runtime::Runtime::CurrentOrThrow().KillActor(actor); }

ActorId LookupActor(const std::string& name, const std::string& ns, const char* type_name) {
  return runtime::Runtime::CurrentOrThrow().LookupActor(name, ns, type_name);
}

void ThrowActorExit() { throw actors::ActorExitSignal{}; }

}  // namespace rankflow::internal
