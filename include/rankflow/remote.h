// rankflow/remote.h — registering functions that can run remotely.
//
// A function is known on every rank by a stable name, never by address (ranks
// may load the binary at different addresses). Register at namespace scope:
//
//   double Simulate(int seed, std::vector<double> params);
//   RANKFLOW_REMOTE(Simulate);                    // name "Simulate"
//   RANKFLOW_REMOTE(Reset, Step);                 // several at once
//   RANKFLOW_REMOTE(MakeEnv, &Env::Step);         // an actor factory and its methods
//
// or explicitly, before Init(): rankflow::Register("sim", Simulate);
// Thread safety: registration happens before Init(); lookups are read-only.
#pragma once

#include <cstdint>
#include <cstring>
#include <typeinfo>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "rankflow/internal/core.h"
#include "rankflow/serialization.h"

namespace rankflow {
namespace internal {

/// Runs a registered function: decodes arguments, calls it, encodes the result.
using Thunk = void (*)(const void* fn, ArgReader& args, const Buffer& owner,
                       std::vector<uint8_t>& result);

/// Records `name` -> (fn, thunk). Returns the registry's stable copy of the name.
const std::string* RegisterFunction(const std::string& name, const void* fn, Thunk thunk,
                                    uint32_t arity);
/// The registered name of function address `fn`, or nullptr.
const std::string* FunctionNameOf(const void* fn);

template <typename T>
const void* AddressOf(T* fn) {
  return reinterpret_cast<const void*>(fn);
}

// The next argument as a T. Plain values (no references inside) decode in
// place, with no Buffer (no shared count) made for them.
template <typename T>
T DecodeArg(ArgReader& in, const Buffer& owner) {
  if constexpr (kIsRawValue<T>) {
    const uint8_t* data;
    size_t size;
    if (in.NextInPlace(&data, &size)) return Decode<T>(data, size);
  }
  return Decode<T>(in.NextBytes(owner));
}

template <typename R, typename... Args>
void InvokeThunk(const void* fn, ArgReader& in, const Buffer& owner, std::vector<uint8_t>& out) {
  auto f = reinterpret_cast<R (*)(Args...)>(const_cast<void*>(fn));
  // Braced initialisation evaluates left to right: arguments decode in order.
  std::tuple<std::decay_t<Args>...> args{DecodeArg<std::decay_t<Args>>(in, owner)...};
  auto call = [&](auto&... a) -> decltype(auto) { return f(std::forward<Args>(a)...); };
  if constexpr (std::is_void_v<R>) {
    std::apply(call, args);
  } else {
    EncodeTo(std::apply(call, args), out);
  }
}

/// Builds an actor: decodes arguments, calls the factory, returns the object.
using FactoryThunk = void* (*)(const void* fn, ArgReader& args, const Buffer& owner);
using Deleter = void (*)(void* object);
/// Runs a method on an actor object (member pointer bytes in `method`).
using MethodThunk = void (*)(const void* method, void* object, ArgReader& args,
                             const Buffer& owner, std::vector<uint8_t>& result);

const std::string* RegisterFactory(const std::string& name, const void* fn, FactoryThunk thunk,
                                   Deleter deleter, uint32_t arity, const char* type_name);
const std::string* RegisterMethod(const std::string& name, const void* method_bytes,
                                  size_t method_size, MethodThunk thunk, uint32_t arity,
                                  const char* type_name);
/// The registered name of a factory / method, or nullptr.
const std::string* MethodNameOf(const void* method_bytes, size_t method_size);

template <typename T, typename... Args>
void* InvokeFactory(const void* fn, ArgReader& in, const Buffer& owner) {
  auto f = reinterpret_cast<T* (*)(Args...)>(const_cast<void*>(fn));
  std::tuple<std::decay_t<Args>...> args{DecodeArg<std::decay_t<Args>>(in, owner)...};
  auto call = [&](auto&... a) { return f(std::forward<Args>(a)...); };
  return std::apply(call, args);
}

template <typename T>
void DeleteObject(void* p) {
  delete static_cast<T*>(p);
}

template <typename M, typename R, typename T, typename... Args>
void InvokeMethod(const void* method, void* object, ArgReader& in, const Buffer& owner,
                  std::vector<uint8_t>& out) {
  M m;
  std::memcpy(&m, method, sizeof(M));
  T* self = static_cast<T*>(object);
  std::tuple<std::decay_t<Args>...> args{DecodeArg<std::decay_t<Args>>(in, owner)...};
  auto call = [&](auto&... a) -> decltype(auto) { return (self->*m)(std::forward<Args>(a)...); };
  if constexpr (std::is_void_v<R>) {
    std::apply(call, args);
  } else {
    EncodeTo(std::apply(call, args), out);
  }
}

template <typename R, typename... Args>
const std::string* RegisterTyped(const std::string& name, R (*fn)(Args...)) {
  if constexpr (std::is_pointer_v<R> && std::is_class_v<std::remove_pointer_t<R>>) {
    // A factory: T* MakeT(args...) creates an actor of type T.
    using T = std::remove_pointer_t<R>;
    return RegisterFactory(name, AddressOf(fn), &InvokeFactory<T, Args...>, &DeleteObject<T>,
                           sizeof...(Args), typeid(T).name());
  } else {
    static_assert(!std::is_reference_v<R> && !std::is_pointer_v<R>,
                  "a remote function must return a value, not a reference or pointer");
    return RegisterFunction(name, AddressOf(fn), &InvokeThunk<R, Args...>, sizeof...(Args));
  }
}

template <typename R, typename T, typename... Args>
const std::string* RegisterTyped(const std::string& name, R (T::*method)(Args...)) {
  static_assert(!std::is_reference_v<R> && !std::is_pointer_v<R>,
                "an actor method must return a value, not a reference or pointer");
  using M = R (T::*)(Args...);
  return RegisterMethod(name, &method, sizeof(M), &InvokeMethod<M, R, T, Args...>,
                        sizeof...(Args), typeid(T).name());
}

}  // namespace internal

/// Registers `fn` under `name`. Call before Init(), identically on every rank.
template <typename R, typename... Args>
void Register(const std::string& name, R (*fn)(Args...)) {
  internal::RegisterTyped(name, fn);
}

}  // namespace rankflow

#define RANKFLOW_INTERNAL_CAT2(a, b) a##b
#define RANKFLOW_INTERNAL_CAT(a, b) RANKFLOW_INTERNAL_CAT2(a, b)
#define RANKFLOW_INTERNAL_REG1(f) ::rankflow::internal::RegisterTyped(#f, f);
#define RANKFLOW_INTERNAL_N(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) N
#define RANKFLOW_INTERNAL_R1(a) RANKFLOW_INTERNAL_REG1(a)
#define RANKFLOW_INTERNAL_R2(a, ...) RANKFLOW_INTERNAL_REG1(a) RANKFLOW_INTERNAL_R1(__VA_ARGS__)
#define RANKFLOW_INTERNAL_R3(a, ...) RANKFLOW_INTERNAL_REG1(a) RANKFLOW_INTERNAL_R2(__VA_ARGS__)
#define RANKFLOW_INTERNAL_R4(a, ...) RANKFLOW_INTERNAL_REG1(a) RANKFLOW_INTERNAL_R3(__VA_ARGS__)
#define RANKFLOW_INTERNAL_R5(a, ...) RANKFLOW_INTERNAL_REG1(a) RANKFLOW_INTERNAL_R4(__VA_ARGS__)
#define RANKFLOW_INTERNAL_R6(a, ...) RANKFLOW_INTERNAL_REG1(a) RANKFLOW_INTERNAL_R5(__VA_ARGS__)
#define RANKFLOW_INTERNAL_R7(a, ...) RANKFLOW_INTERNAL_REG1(a) RANKFLOW_INTERNAL_R6(__VA_ARGS__)
#define RANKFLOW_INTERNAL_R8(a, ...) RANKFLOW_INTERNAL_REG1(a) RANKFLOW_INTERNAL_R7(__VA_ARGS__)

/// Registers up to eight functions by their spelled names, at namespace scope.
#define RANKFLOW_REMOTE(...)                                                              \
  static const bool RANKFLOW_INTERNAL_CAT(rankflow_registered_, __LINE__) = [] {          \
    RANKFLOW_INTERNAL_N(__VA_ARGS__, RANKFLOW_INTERNAL_R8, RANKFLOW_INTERNAL_R7,          \
                        RANKFLOW_INTERNAL_R6, RANKFLOW_INTERNAL_R5, RANKFLOW_INTERNAL_R4, \
                        RANKFLOW_INTERNAL_R3, RANKFLOW_INTERNAL_R2, RANKFLOW_INTERNAL_R1) \
    (__VA_ARGS__) return true;                                                            \
  }()
