#include "runtime/registry.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace rankflow::runtime {

namespace {
struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<FunctionEntry>, std::less<>> by_name;
  std::unordered_map<const void*, FunctionEntry*> by_address;
};

Registry& Get() {
  static Registry* r = new Registry();  // never destroyed: used during static teardown
  return *r;
}
}  // namespace

const FunctionEntry* FindFunction(std::string_view name) {
  Registry& r = Get();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : it->second.get();
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

const std::string* RegisterFunction(const std::string& name, const void* fn, Thunk thunk,
                                    uint32_t arity) {
  auto& r = runtime::Get();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.by_name.find(name);
  if (it != r.by_name.end()) {
    if (it->second->fn == fn) return &it->second->name;
    throw Error(ErrorCode::kInvalidArgument,
                "two different functions registered under the name '" + name + "'");
  }
  auto e = std::make_unique<runtime::FunctionEntry>();
  e->name = name;
  e->fn = fn;
  e->thunk = thunk;
  e->arity = arity;
  const std::string* stable = &e->name;
  r.by_address[fn] = e.get();
  r.by_name.emplace(name, std::move(e));
  return stable;
}

const std::string* FunctionNameOf(const void* fn) {
  auto& r = runtime::Get();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.by_address.find(fn);
  return it == r.by_address.end() ? nullptr : &it->second->name;
}

}  // namespace rankflow::internal
