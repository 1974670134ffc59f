/** Streams a command reads and writes; injected so tests can run commands in-process. */
export interface CommandIO {
  stdin: NodeJS.ReadableStream;
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

/** The process's own streams. */
export const processIO: CommandIO = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
};

/** Exit codes of every command: 0 success, 1 error, 2 bad usage (README, "Quick start" and `--help`). */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
