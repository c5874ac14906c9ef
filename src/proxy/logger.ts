import type { ProxyLogLevel, ProxyLogger } from "./options.js";

/** A {@link ProxyLogger} filtered by level, with a cheap check to skip building debug lines. */
export interface Logger extends ProxyLogger {
  readonly debugEnabled: boolean;
}

const RANK: Record<ProxyLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** The default sink: one timestamped line per message on stderr. */
export const stderrLogger: ProxyLogger = {
  debug: (msg) => write("debug", msg),
  info: (msg) => write("info", msg),
  warn: (msg) => write("warn", msg),
  error: (msg) => write("error", msg),
};

function write(level: string, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} etcd-connect-proxy ${level}: ${msg}\n`);
}

/**
 * Wraps `logger` (default {@link stderrLogger}) so that levels below `level` are dropped. A throwing logger
 * never breaks a request.
 */
export function createLogger(logger: ProxyLogger | undefined, level: ProxyLogLevel): Logger {
  const sink = logger ?? stderrLogger;
  const min = RANK[level];
  const at = (lvl: Exclude<ProxyLogLevel, "silent">) =>
    RANK[lvl] >= min
      ? (msg: string) => {
          try {
            sink[lvl](msg);
          } catch {
            // logging must not take the proxy down
          }
        }
      : () => {};
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), debugEnabled: min === 0 };
}
