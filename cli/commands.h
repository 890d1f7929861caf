// The fsc verbs. Each Run*Command takes the words after its verb and returns the exit code.
#ifndef FSC_CLI_COMMANDS_H_
#define FSC_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace fsc::cli {

using Args = std::vector<std::string>;

int Dispatch(const Args& args);
int RunExtractCommand(const Args& args);
int RunAlignmentsCommand(const Args& args);
int RunTrainCommand(const Args& args);
int RunConvertCommand(const Args& args);
int RunBenchCommand(const Args& args);
// The cluster client verbs.
int RunClusterCommand(const Args& args);
int RunSubmitCommand(const Args& args);
int RunJobsCommand(const Args& args);
int RunJobCommand(const Args& args);
int RunLogsCommand(const Args& args);
int RunCancelCommand(const Args& args);
int RunDatasetCommand(const Args& args);
int RunFetchCommand(const Args& args);
int RunPreviewCommand(const Args& args);
int RunVerifyCommand(const Args& args);
int RunEvalCommand(const Args& args);
int RunModelCommand(const Args& args);

}  // namespace fsc::cli

#endif  // FSC_CLI_COMMANDS_H_
