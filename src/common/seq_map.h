// common/seq_map.h — a map from sequence numbers to records, for keys that
// are handed out in increasing order (an owner's object numbers).
//
// Open addressing with linear probing over a power-of-two array of
// {key, record*}; a key's home slot is the top bits of key × 2^64/φ
// (Fibonacci hashing: one multiply, no modulo), which spreads consecutive
// numbers and regular strides of them evenly. (The bare low bits would put
// every 8th number, say, on every 8th slot: a program keeping every 8th
// result alive would pile them into runs thousands of slots long.) Robin
// Hood placement keeps searches and erases short; a lookup is one slot and
// one record, with no chain of nodes.
// Records have stable addresses (allocated from a NodePool, recycled) while
// they are in the map. Erasing shifts the run back (no tombstones). Not
// thread-safe: its user's lock guards it. Key 0 is reserved (empty slot).
#pragma once

#include <cassert>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "common/node_pool.h"

namespace rankflow {

template <typename T>
class SeqMap {
 public:
  SeqMap() : slots_(kInitialSlots), shift_(64 - kInitialBits) {}
  SeqMap(const SeqMap&) = delete;
  SeqMap& operator=(const SeqMap&) = delete;
  ~SeqMap() {
    for (Slot& s : slots_) {
      if (s.key != 0) Destroy(s.value);
    }
  }

  /// The record of `key`, or null.
  T* find(uint64_t key) const {
    const size_t i = Index(key);
    return i == kNone ? nullptr : slots_[i].value;
  }

  /// Inserts a default record under `key` (not 0, not present) and returns it.
  T& emplace(uint64_t key) {
    assert(key != 0 && find(key) == nullptr);
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    T* value = new (pool_.Allocate(sizeof(T))) T();
    Place(key, value);
    ++size_;
    return *value;
  }

  /// The record of `key`, inserted (default) if it was not there.
  T& operator[](uint64_t key) {
    T* found = find(key);
    return found != nullptr ? *found : emplace(key);
  }

  /// Removes `key` and destroys its record; false if it was not there.
  bool erase(uint64_t key) {
    size_t i = Index(key);
    if (i == kNone) return false;
    Destroy(slots_[i].value);
    --size_;
    // Backward shift: pull the rest of the run back by one slot, up to an
    // empty slot or an entry already in its home slot.
    for (size_t j = (i + 1) & mask(); slots_[j].key != 0 && Distance(j) != 0;
         j = (j + 1) & mask()) {
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot{};
    return true;
  }

  size_t size() const { return size_; }

  /// The farthest any entry sits from its home slot (a search's worst case).
  size_t max_distance() const {
    size_t worst = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].key != 0 && Distance(i) > worst) worst = Distance(i);
    }
    return worst;
  }

  /// Calls `f(key, record)` for every entry, in no particular order.
  template <typename F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.key != 0) f(s.key, static_cast<const T&>(*s.value));
    }
  }

 private:
  static constexpr int kInitialBits = 6;
  static constexpr size_t kInitialSlots = size_t{1} << kInitialBits;
  static constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;  // 2^64 / φ
  static constexpr size_t kNone = ~size_t{0};
  struct Slot {
    uint64_t key = 0;
    T* value = nullptr;
  };

  size_t mask() const { return slots_.size() - 1; }
  size_t Home(uint64_t key) const { return static_cast<size_t>((key * kGolden) >> shift_); }

  // How far the entry in slot `i` sits from its home slot.
  size_t Distance(size_t i) const { return (i - Home(slots_[i].key)) & mask(); }

  // The slot of `key`, or kNone. Robin Hood order: along a run, entries sit
  // no nearer their home than the ones before them, so a search stops at the
  // first entry nearer its home than the key would be.
  size_t Index(uint64_t key) const {
    if (key == 0) return kNone;  // (an empty slot's mark, never a key)
    for (size_t i = Home(key), d = 0;; i = (i + 1) & mask(), ++d) {
      const uint64_t k = slots_[i].key;
      if (k == key) return i;
      if (k == 0 || Distance(i) < d) return kNone;
    }
  }

  // Robin Hood insertion: an entry nearer its home than the one being placed
  // gives up its slot and is placed further on.
  void Place(uint64_t key, T* value) {
    Slot cur{key, value};
    for (size_t i = Home(key), d = 0;; i = (i + 1) & mask(), ++d) {
      if (slots_[i].key == 0) {
        slots_[i] = cur;
        return;
      }
      const size_t sd = Distance(i);
      if (sd < d) {
        std::swap(slots_[i], cur);
        d = sd;
      }
    }
  }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    --shift_;
    for (const Slot& s : old) {
      if (s.key != 0) Place(s.key, s.value);
    }
  }

  void Destroy(T* value) {
    value->~T();
    pool_.Free(value, sizeof(T));
  }

  std::vector<Slot> slots_;
  int shift_;  // 64 - log2(slots)
  size_t size_ = 0;
  NodePool pool_;
};

}  // namespace rankflow
