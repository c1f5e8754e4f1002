#include "store/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace rankflow::store {

namespace {
Status Errno(const std::string& what) {
  return {StatusCode::kInternal, what + ": " + std::strerror(errno)};
}

Result<uint8_t*> Map(int fd, size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Errno("mmap of " + std::to_string(bytes) + " bytes");
  return static_cast<uint8_t*>(p);
}

uint64_t ReadCgroupLimit() {
  for (const char* path : {"/sys/fs/cgroup/memory.max",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream f(path);
    std::string s;
    if (f >> s && !s.empty() && s != "max") {
      try {
        return std::stoull(s);
      } catch (...) {
      }
    }
  }
  return 0;
}
}  // namespace

static Status Reserve(int fd, size_t bytes, bool prefault, const std::string& name) {
  int rc = prefault ? posix_fallocate(fd, 0, static_cast<off_t>(bytes))
                    : (ftruncate(fd, static_cast<off_t>(bytes)) == 0 ? 0 : errno);
  if (rc == 0) return Status::Ok();
  return {StatusCode::kTooLarge, "cannot reserve " + std::to_string(bytes) +
                                     " bytes of shared memory for " + name + ": " +
                                     std::strerror(rc) +
                                     " (lower RANKFLOW_STORE_BYTES or enlarge /dev/shm)"};
}

Result<std::shared_ptr<ShmSegment>> ShmSegment::Create(const std::string& name, size_t bytes,
                                                       bool prefault) {
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0 && errno == EEXIST) {
    shm_unlink(name.c_str());  // left over from a crashed job with the same token
    fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  }
  if (fd < 0) return Errno("shm_open " + name);
  Status st = Reserve(fd, bytes, prefault, name);
  if (!st.ok()) {
    close(fd);
    shm_unlink(name.c_str());
    return st;
  }
  auto base = Map(fd, bytes);
  close(fd);
  if (!base.ok()) {
    shm_unlink(name.c_str());
    return base.status();
  }
  return std::shared_ptr<ShmSegment>(new ShmSegment(name, *base, bytes));
}

Result<std::shared_ptr<ShmSegment>> ShmSegment::Open(const std::string& name) {
  int fd = shm_open(name.c_str(), O_RDWR, 0600);
  if (fd < 0) return Errno("shm_open " + name);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return Errno("fstat " + name);
  }
  auto base = Map(fd, static_cast<size_t>(st.st_size));
  close(fd);
  if (!base.ok()) return base.status();
  auto seg = std::shared_ptr<ShmSegment>(new ShmSegment(name, *base, static_cast<size_t>(st.st_size)));
  seg->linked_ = false;  // the creator owns the name
  return seg;
}

Result<std::shared_ptr<ShmSegment>> ShmSegment::CreatePrivate(size_t bytes, bool prefault) {
  int fd = memfd_create("rankflow-store", MFD_CLOEXEC);
  if (fd < 0) return Errno("memfd_create");
  Status st = Reserve(fd, bytes, prefault, "a private store");
  if (!st.ok()) {
    close(fd);
    return st;
  }
  auto base = Map(fd, bytes);
  close(fd);
  if (!base.ok()) return base.status();
  auto seg = std::shared_ptr<ShmSegment>(new ShmSegment("", *base, bytes));
  seg->linked_ = false;
  return seg;
}

ShmSegment::~ShmSegment() {
  Unlink();
  munmap(base_, size_);
}

void ShmSegment::Prefault() {
  // Maps the (already allocated) pages into this process's page table.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
  if (madvise(base_, size_, MADV_POPULATE_WRITE) == 0) return;
  long page = sysconf(_SC_PAGESIZE);
  const volatile uint8_t* p = base_;
  uint8_t sink = 0;
  for (size_t off = 0; off < size_; off += static_cast<size_t>(page)) sink = sink + p[off];
  (void)sink;
}

void ShmSegment::Unlink() {
  if (linked_ && !name_.empty()) shm_unlink(name_.c_str());
  linked_ = false;
}

uint64_t ShmAvailableBytes() {
  struct statvfs v {};
  if (statvfs("/dev/shm", &v) != 0) return 0;
  return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
}

uint64_t NodeMemoryLimitBytes() {
  uint64_t phys = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                  static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t cg = ReadCgroupLimit();
  return (cg > 0 && cg < phys) ? cg : phys;
}

}  // namespace rankflow::store
