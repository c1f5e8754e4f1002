#include "runtime/registry.h"

#include <algorithm>
#include <map>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace rankflow::runtime {

namespace {
// Written at static initialisation and before Init(), read-only afterwards:
// once frozen, lookups (one per submitted and per executed task) take no lock.
struct Registry {
  std::mutex mu;
  std::atomic<bool> frozen{false};
  std::map<std::string, std::unique_ptr<FunctionEntry>, std::less<>> by_name;
  std::unordered_map<const void*, FunctionEntry*> by_address;
  std::map<std::string, FunctionEntry*> by_method_bytes;
};

Registry& Get() {
  static Registry* r = new Registry();  // never destroyed: used during static teardown
  return *r;
}
}  // namespace

// Locks the registry unless it is frozen.
std::unique_lock<std::mutex> ReadLock(Registry& r) {
  if (r.frozen.load(std::memory_order_acquire)) return {};
  return std::unique_lock<std::mutex>(r.mu);
}

void FreezeRegistry() { Get().frozen.store(true, std::memory_order_release); }

const FunctionEntry* FindFunction(std::string_view name) {
  Registry& r = Get();
  // Once frozen, entries never move or go: each thread remembers its last
  // lookup (a stream of tasks mostly names one function).
  thread_local const FunctionEntry* last = nullptr;
  const bool frozen = r.frozen.load(std::memory_order_acquire);
  if (frozen && last != nullptr && last->name == name) return last;
  auto lock = ReadLock(r);
  auto it = r.by_name.find(name);
  const FunctionEntry* found = it == r.by_name.end() ? nullptr : it->second.get();
  if (frozen && found != nullptr) last = found;
  return found;
}

std::vector<std::string> RegisteredFunctionNames() {
  Registry& r = Get();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [name, e] : r.by_name) out.push_back(name);
  return out;
}

}  // namespace rankflow::runtime

namespace rankflow::internal {

namespace {
// Adds `e` under its name; an identical re-registration returns the first.
const std::string* Add(std::unique_ptr<runtime::FunctionEntry> e) {
  auto& r = runtime::Get();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.frozen.load()) {
    throw Error(ErrorCode::kInvalidArgument,
                "'" + e->name + "' registered after rankflow::Init(): register before Init");
  }
  auto it = r.by_name.find(e->name);
  if (it != r.by_name.end()) {
    if (it->second->fn == e->fn && it->second->method_bytes == e->method_bytes) {
      return &it->second->name;
    }
    throw Error(ErrorCode::kInvalidArgument,
                "two different functions registered under the name '" + e->name + "'");
  }
  const std::string* stable = &e->name;
  if (e->kind == runtime::FunctionEntry::Kind::kMethod) {
    r.by_method_bytes[e->method_bytes] = e.get();
  } else {
    r.by_address[e->fn] = e.get();
  }
  r.by_name.emplace(e->name, std::move(e));
  return stable;
}
}  // namespace

const std::string* RegisterFunction(const std::string& name, const void* fn, Thunk thunk,
                                    uint32_t arity) {
  auto e = std::make_unique<runtime::FunctionEntry>();
  e->name = name;
  e->fn = fn;
  e->thunk = thunk;
  e->arity = arity;
  return Add(std::move(e));
}

const std::string* RegisterFactory(const std::string& name, const void* fn, FactoryThunk thunk,
                                   Deleter deleter, uint32_t arity, const char* type_name) {
  auto e = std::make_unique<runtime::FunctionEntry>();
  e->kind = runtime::FunctionEntry::Kind::kFactory;
  e->name = name;
  e->fn = fn;
  e->factory = thunk;
  e->deleter = deleter;
  e->type_name = type_name;
  e->arity = arity;
  return Add(std::move(e));
}

const std::string* RegisterMethod(const std::string& name, const void* method_bytes,
                                  size_t method_size, MethodThunk thunk, uint32_t arity,
                                  const char* type_name) {
  auto e = std::make_unique<runtime::FunctionEntry>();
  e->type_name = type_name;
  e->kind = runtime::FunctionEntry::Kind::kMethod;
  e->name = name;
  e->method_bytes.assign(static_cast<const char*>(method_bytes), method_size);
  e->method = thunk;
  e->arity = arity;
  return Add(std::move(e));
}

const std::string* MethodNameOf(const void* method_bytes, size_t method_size) {
  auto& r = runtime::Get();
  auto lock = runtime::ReadLock(r);
  auto it = r.by_method_bytes.find(std::string(static_cast<const char*>(method_bytes), method_size));
  return it == r.by_method_bytes.end() ? nullptr : &it->second->name;
}

const std::string* FunctionNameOf(const void* fn) {
  auto& r = runtime::Get();
  auto lock = runtime::ReadLock(r);
  auto it = r.by_address.find(fn);
  return it == r.by_address.end() ? nullptr : &it->second->name;
}

}  // namespace rankflow::internal
