/* cli.h — the verbs of the `linfer` command. Each takes argc/argv starting at the verb name,
 * parses its own options with getopt_long, and returns the process exit code
 * (0 ok, 1 runtime failure, 2 usage error). Only the CLI turns statuses into exit codes. */
#ifndef LF_CLI_H
#define LF_CLI_H
int cmd_generate(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_roofline(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* Print "linfer: <status>: <message>" to stderr and return the exit code for a status. */
int cli_fail(int status);
#endif
