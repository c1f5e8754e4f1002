#include "runtime/collective_inbox.h"

#include <vector>

namespace rankflow::runtime {

std::shared_ptr<internal::RefHandle> CollectiveInbox::NewStandIn() {
  const uint64_t local = table_->CreatePending();
  return std::allocate_shared<internal::RefHandle>(RecycledAllocator<internal::RefHandle>(),
                                                   internal::ObjectId{rank_, 0, local}, table_);
}

CollectiveInbox::Record& CollectiveInbox::Find(const Key& key) {
  Record& r = records_[key];
  if (r.stand_in == nullptr) r.stand_in = NewStandIn();
  return r;
}

std::shared_ptr<internal::RefHandle> CollectiveInbox::Consume(uint32_t owner, uint64_t seq) {
  const Key key{owner, seq};
  std::shared_ptr<internal::RefHandle> out;
  objects::ObjectValue failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto dead = dead_.find(owner);
    auto it = records_.find(key);
    if (dead != dead_.end() && (it == records_.end() || it->second.arrived == 0)) {
      // Nothing will come: a stand-in that has failed already.
      if (it != records_.end()) records_.erase(it);
      out = NewStandIn();
      failed = dead->second;
    } else {
      Record& r = Find(key);
      ++r.consumed;
      out = r.stand_in;
      if (r.consumed == r.arrived) records_.erase(key);
      return out;
    }
  }
  table_->Complete(out->id().seq, std::move(failed));
  return out;
}

void CollectiveInbox::Arrive(uint32_t owner, uint64_t seq, objects::ObjectValue value) {
  const Key key{owner, seq};
  std::shared_ptr<internal::RefHandle> complete;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Record& r = Find(key);
    // The first arrival fills the stand-in; later ones (more occurrences of
    // the same object) only count.
    if (++r.arrived == 1) complete = r.stand_in;
    if (r.consumed == r.arrived) records_.erase(key);
  }
  if (complete != nullptr) table_->Complete(complete->id().seq, std::move(value));
}

void CollectiveInbox::OwnerDied(uint32_t owner, const objects::ObjectValue& error) {
  std::vector<std::shared_ptr<internal::RefHandle>> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dead_[owner] = error;
    for (auto it = records_.begin(); it != records_.end();) {
      if (it->first.first == owner && it->second.arrived == 0) {
        waiting.push_back(std::move(it->second.stand_in));
        it = records_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& h : waiting) table_->Complete(h->id().seq, error);
}

size_t CollectiveInbox::awaited() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, r] : records_) n += r.consumed > r.arrived ? r.consumed - r.arrived : 0;
  return n;
}

size_t CollectiveInbox::early() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, r] : records_) n += r.arrived > r.consumed ? r.arrived - r.consumed : 0;
  return n;
}

void CollectiveInbox::Clear() {
  Records gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    gone.swap(records_);
  }
}

}  // namespace rankflow::runtime
