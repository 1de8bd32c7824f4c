// An exclusive claim on a folder for one process: two training runs writing the same output folder
// would delete each other's half-written checkpoints. The kernel drops the claim when the process
// ends, however it ends (SIGKILL included), so a killed run never leaves a stale lock behind.
#pragma once
#include <string>

namespace lorat {

class FolderLock {
 public:
  // Takes the lock on `dir`/.lock (created if missing) without waiting. Throws lorat::Error naming
  // the folder and the holder's pid when another process has it. `what` names the holder's job in
  // that message ("lorat train"). On a file system that has no locks it guards nothing.
  FolderLock(const std::string& dir, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace lorat
