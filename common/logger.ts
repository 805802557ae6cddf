import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { prettyFactory } from 'pino-pretty';

/**
 * Logs. Fields are ids, counts and file names: never owner names, e-mails, phones or credentials. The
 * redaction list is a second line of defence for anything that slips through.
 *
 * The format: JSON lines, one per event, for machines (log shippers, `jq`, tests), and a short
 * human-readable line per event on a terminal. LOG_FORMAT=json or LOG_FORMAT=pretty decides; without
 * it, pretty when stdout is a terminal, else JSON. The console goes through one writer that a progress
 * bar can take over (setConsoleWriter), so a log line never tears a bar apart.
 */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT (`json` / `pretty`) wins; otherwise pretty on a terminal and JSON when output goes elsewhere. */
export function logFormatOf(env: NodeJS.ProcessEnv, isTTY: boolean): LogFormat {
  const wanted = env.LOG_FORMAT?.trim().toLowerCase();
  if (wanted === 'json' || wanted === 'pretty') return wanted;
  return isTTY ? 'pretty' : 'json';
}

/** The level of the logs: LOG_LEVEL, else info. */
export function logLevelOf(env: NodeJS.ProcessEnv): pino.LevelWithSilent {
  return (env.LOG_LEVEL?.trim() || 'info') as pino.LevelWithSilent;
}

/** Where console log lines go: stdout, unless a progress bar has taken it over. */
let consoleWriter: (line: string) => void = (line) => void process.stdout.write(line);

/** Lets a progress bar print log lines above itself; returns the previous writer (to restore). */
export function setConsoleWriter(w: (line: string) => void): (line: string) => void {
  const previous = consoleWriter;
  consoleWriter = w;
  return previous;
}

/**
 * Fields a console line leaves out: pino's own, the ones already shown as the line's start, and ids
 * a person does not read (the workflow id names the run; the JSON logs keep them all).
 */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component', 'runId', 'activityId', 'workflowType', 'taskQueue']);

/** `key=value` for one field; objects become `key.sub=value` (never a JSON blob on a terminal line). */
function fieldText(key: string, value: unknown, depth: number): string[] {
  if (value === undefined || value === null) return [];
  if (value instanceof Error) return [`${key}=${JSON.stringify(value.message)}`];
  if (Array.isArray(value)) {
    const items = value.filter((v) => v === null || typeof v !== 'object');
    const more = value.length - items.length;
    return [`${key}=${items.map(String).join(',')}${more ? `${items.length ? ',' : ''}…${more} more` : ''}`];
  }
  if (typeof value === 'object') {
    if (depth >= 2) return [`${key}=…`];
    const o = value as Record<string, unknown>;
    // An error as pino serializes it: its message is what a reader needs; stacks stay in the JSON logs.
    if (typeof o.message === 'string' && ('stack' in o || 'type' in o)) return [`${key}=${JSON.stringify(o.message)}`];
    return Object.entries(o).flatMap(([k, v]) => fieldText(`${key}.${k}`, v, depth + 1));
  }
  if (typeof value === 'string') return [`${key}=${/^[\w./:@+-]+$/.test(value) ? value : JSON.stringify(value)}`];
  return [`${key}=${String(value as number | boolean | bigint)}`];
}

/** The message of one console line: `[component] message key=value …`. */
export function consoleMessage(log: Record<string, unknown>): string {
  const component = typeof log.component === 'string' ? `[${log.component}] ` : '';
  const msg = typeof log.msg === 'string' ? log.msg : '';
  const fields = Object.entries(log)
    .filter(([k]) => !HIDDEN.has(k))
    .flatMap(([k, v]) => fieldText(k, v, 0));
  return [component + msg, ...fields].join(' ');
}

/** A pino destination that renders each JSON record as one short line (pino-pretty) for the console. */
export function prettyConsole(o: { colorize: boolean; write?: (line: string) => void }): pino.DestinationStream {
  const render = prettyFactory({
    colorize: o.colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name',
    hideObject: true,
    singleLine: true,
    messageFormat: (log) => consoleMessage(log),
  });
  return {
    write(record: string) {
      const line = render(record);
      if (line) (o.write ?? consoleWriter)(line.endsWith('\n') ? line : line + '\n');
    },
  };
}

/** The console as a pino destination, in the given format, through the (replaceable) console writer. */
export function consoleDestination(format: LogFormat, colorize = Boolean(process.stdout.isTTY)): pino.DestinationStream {
  return format === 'pretty' ? prettyConsole({ colorize }) : { write: (record: string) => consoleWriter(record) };
}

function createLogger(level: pino.LevelWithSilent, destination: pino.DestinationStream): pino.Logger {
  return pino(
    {
      name: 'imv-import',
      level,
      base: { pid: process.pid },
      redact: {
        paths: [
          'password',
          '*.password',
          'contact',
          '*.contact',
          'emails',
          '*.emails',
          'phones',
          '*.phones',
          'lastName',
          'firstName',
          '*.lastName',
          '*.firstName',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** The process's logger: the console, in the format LOG_FORMAT or the terminal decides. */
export let logger: pino.Logger = createLogger(logLevelOf(process.env), consoleDestination(logFormatOf(process.env, Boolean(process.stdout.isTTY))));

/**
 * Logs to a file (JSON lines, at LOG_LEVEL) and only `consoleLevel` and above to the console (pretty on
 * a terminal): what `imv-import dev` does, so its console stays readable. Replaces `logger`; loggers
 * made from the old one (children) keep writing where they did, so call this before building anything.
 */
export function logToFile(file: string, o: { consoleLevel?: pino.Level; env?: NodeJS.ProcessEnv; isTTY?: boolean } = {}): pino.Logger {
  const env = o.env ?? process.env;
  const isTTY = o.isTTY ?? Boolean(process.stdout.isTTY);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const level = logLevelOf(env);
  const consoleLevel = o.consoleLevel ?? 'warn';
  const streams = pino.multistream([
    { level: level === 'silent' ? 'fatal' : level, stream: pino.destination({ dest: file, sync: true, append: true }) },
    { level: consoleLevel, stream: consoleDestination(logFormatOf(env, isTTY), isTTY) },
  ]);
  logger = createLogger(level, streams);
  return logger;
}

export type Logger = pino.Logger;
