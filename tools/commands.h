// The lorat subcommands; each takes the arguments after its name and returns the exit status.
#pragma once

namespace lorat_cli {

int cmd_track(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_new(int argc, char** argv);
int cmd_merge(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_train(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_synth(int argc, char** argv);

}  // namespace lorat_cli
