// runtime/collective_inbox.h — a collective task's inputs from other ranks.
//
// In SPMD mode every rank submits every collective task (runtime/
// collective_tasks.cc). When the task's owner sees an argument that another
// rank's collective task computes, it takes a local stand-in object from
// here; that other rank sees the same submission and sends the value once it
// is ready, and its arrival completes the stand-in. Both sides count the
// same argument occurrences, so each value sent pairs with one occurrence,
// whichever comes first: a record lives only while the two counts differ.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "common/recycled_allocator.h"
#include "objects/object_table.h"
#include "objects/ref_handle.h"

namespace rankflow::runtime {

class CollectiveInbox {
 public:
  /// Stand-ins are objects of `table`, owned by rank `rank`.
  CollectiveInbox(std::shared_ptr<objects::ObjectTable> table, int rank)
      : table_(std::move(table)), rank_(static_cast<uint32_t>(rank)) {}

  /// One argument occurrence of `owner`'s object `seq` in a task owned
  /// here: the local object that holds its value once it arrives.
  std::shared_ptr<internal::RefHandle> Consume(uint32_t owner, uint64_t seq);
  /// `owner` sent its object `seq` (once per occurrence it saw).
  void Arrive(uint32_t owner, uint64_t seq, objects::ObjectValue value);
  /// `owner` died: what waits for it fails with `error`, and so does
  /// every later occurrence.
  void OwnerDied(uint32_t owner, const objects::ObjectValue& error);
  /// Occurrences whose value has not come yet.
  size_t awaited() const;
  /// Values that came before any occurrence asked for them.
  size_t early() const;
  /// Forgets everything (shutdown).
  void Clear();

 private:
  struct Record {
    std::shared_ptr<internal::RefHandle> stand_in;
    int arrived = 0;
    int consumed = 0;
  };
  using Key = std::pair<uint32_t, uint64_t>;
  // A new pending local object.
  std::shared_ptr<internal::RefHandle> NewStandIn();
  // The record of `key`, made with a new pending stand-in if there is none.
  Record& Find(const Key& key);

  const std::shared_ptr<objects::ObjectTable> table_;
  const uint32_t rank_;
  // A record lives from the first of an occurrence and its value to the
  // second: its node comes from recycled blocks, as the task's own records.
  using Records = std::map<Key, Record, std::less<Key>, RecycledAllocator<std::pair<const Key, Record>>>;
  mutable std::mutex mu_;
  Records records_;
  std::map<uint32_t, objects::ObjectValue> dead_;  // owner -> its failure
};

}  // namespace rankflow::runtime
