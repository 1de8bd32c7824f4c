#include "folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "error.h"

namespace lorat {

FolderLock::FolderLock(const std::string& dir, const std::string& what) {
  std::string path = (std::filesystem::path(dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  int rc;
  while ((rc = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    int err = errno;
    char holder[32] = {0};
    ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    std::string pid = n > 0 ? std::string(holder, size_t(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error(dir + ": another " + what + (pid.empty() ? "" : " (pid " + pid + ")") +
                  " is writing this folder; wait for it to end or choose another folder");
    // A file system without locks (some network mounts) gets no guard rather than no training.
    if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) return;
    throw Error(path + ": cannot lock (" + std::strerror(err) + ")");
  }
  // The pid only feeds the message above (the flock is the lock), so a failed write is ignored.
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace lorat
