// actors/actor_wire.h — the actor messages: create, call, kill. Flat and
// bounds-checked like task messages (runtime/wire.h).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rankflow/buffer.h"

namespace rankflow::actors {

/// An actor's identity: the rank that created it and a sequence there.
struct ActorKey {
  uint32_t owner = 0;
  uint64_t seq = 0;
  bool operator==(const ActorKey&) const = default;
};
struct ActorKeyHash {
  size_t operator()(const ActorKey& k) const { return std::hash<uint64_t>()(k.seq * 1000003u + k.owner); }
};

struct CreateWire {
  ActorKey key;
  std::string_view factory;
  std::string_view name;
  int32_t max_concurrency = 1;
  bool inline_calls = false;  // short calls may run on the receiving thread
  uint32_t num_args = 0;
  Buffer args;
};

struct CallWire {
  uint32_t caller = 0;      // owns the result object
  uint64_t result_seq = 0;
  ActorKey actor;
  uint64_t call_seq = 0;    // per (caller rank, actor), from 0
  bool skip = false;        // a call that failed before sending: only advances the order
  std::string_view method;
  std::string_view display;
  uint32_t num_args = 0;
  Buffer args;
};

void EncodeCreate(std::vector<uint8_t>& out, const ActorKey& key, std::string_view factory,
                  std::string_view name, int32_t max_concurrency, bool inline_calls,
                  uint32_t num_args, const std::vector<uint8_t>& args);
Status DecodeCreate(const Buffer& msg, CreateWire* out);

void EncodeCall(std::vector<uint8_t>& out, uint32_t caller, uint64_t result_seq,
                const ActorKey& actor, uint64_t call_seq, bool skip, std::string_view method,
                std::string_view display, uint32_t num_args, const std::vector<uint8_t>& args);
Status DecodeCall(const Buffer& msg, CallWire* out);

void EncodeKill(std::vector<uint8_t>& out, const ActorKey& actor);
Status DecodeKill(const Buffer& msg, ActorKey* out);

}  // namespace rankflow::actors
