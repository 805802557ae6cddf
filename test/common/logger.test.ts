/**
 * The log format: JSON for machines, one short line per event on a terminal; LOG_FORMAT decides when
 * set. And the dev stack's split: everything to a JSON file, only warnings and errors to the console.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters as plain } from 'node:util';
import pino from 'pino';
import { consoleMessage, logFormatOf, logToFile, prettyConsole, setConsoleWriter } from '../../common/logger';

describe('logFormatOf', () => {
  it('is pretty on a terminal and JSON otherwise', () => {
    expect(logFormatOf({}, true)).toBe('pretty');
    expect(logFormatOf({}, false)).toBe('json');
  });

  it('follows LOG_FORMAT whatever the output is (any case, spaces ignored)', () => {
    expect(logFormatOf({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatOf({ LOG_FORMAT: ' JSON ' }, true)).toBe('json');
    expect(logFormatOf({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(logFormatOf({ LOG_FORMAT: 'Pretty' }, false)).toBe('pretty');
  });

  it('ignores an unknown or empty LOG_FORMAT (decides by the terminal)', () => {
    expect(logFormatOf({ LOG_FORMAT: 'yaml' }, true)).toBe('pretty');
    expect(logFormatOf({ LOG_FORMAT: '' }, false)).toBe('json');
  });
});

describe('the console line', () => {
  const lines: string[] = [];
  const log = pino({ level: 'debug', base: { pid: 1 }, name: 'imv-import' }, prettyConsole({ colorize: false, write: (l) => void lines.push(l) }));
  afterEach(() => void lines.splice(0));

  it('is one line per event with the level, the message and the fields as key=value, never JSON', () => {
    log
      .child({ component: 'temporal-sdk' })
      .info(
        { activityType: 'fetch', workflowId: 'import-file/demo/1/a b.xml/12', durationMs: 12, tenants: ['a', 'b'], counts: { created: 1, rejected: 0 } },
        'activity completed',
      );
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line.endsWith('\n')).toBe(true);
    expect(line.trimEnd()).not.toContain('\n');
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: \[temporal-sdk\] activity completed /);
    expect(line).toContain('activityType=fetch');
    expect(line).toContain('workflowId="import-file/demo/1/a b.xml/12"');
    expect(line).toContain('tenants=a,b');
    expect(line).toContain('counts.created=1 counts.rejected=0');
    expect(line).not.toContain('{');
    expect(line).not.toMatch(/pid|hostname|imv-import/);
  });

  it('labels warnings and errors, and shows an error by its message (the stack stays in the JSON logs)', () => {
    log.warn({ count: 2 }, 'stuck imports');
    log.error(new Error('connection refused'), 'stop failed');
    expect(lines[0]).toMatch(/ WARN: stuck imports count=2\n$/);
    expect(lines[1]).toMatch(/ ERROR: stop failed err="connection refused"\n$/);
    expect(lines[1]).not.toContain(' at ');
  });

  it('renders deep objects and arrays of objects without braces', () => {
    expect(consoleMessage({ msg: 'm', a: { b: { c: { d: 1 } } }, list: [1, { x: 1 }] })).toBe('m a.b.c=… list=1,…1 more');
  });
});

describe('logToFile (imv-import dev)', () => {
  it('writes every record as JSON to the file and only warnings and errors to the console, pretty on a terminal', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-logs-'));
    const file = path.join(dir, 'logs', 'worker.log');
    const consoleLines: string[] = [];
    const restore = setConsoleWriter((l) => void consoleLines.push(l));
    try {
      const log = logToFile(file, { env: { LOG_LEVEL: 'info' }, isTTY: true });
      log.info({ activityType: 'fetch' }, 'activity completed');
      log.debug('below the level');
      log.child({ component: 'stuck-imports' }).warn({ count: 1 }, 'stuck imports');
      log.error('stop failed');
    } finally {
      setConsoleWriter(restore);
    }
    const records = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      [30, 'activity completed'],
      [40, 'stuck imports'],
      [50, 'stop failed'],
    ]);
    expect(consoleLines).toHaveLength(2);
    // Coloured on a terminal: the level stands out (yellow warnings, red errors).
    expect(consoleLines[0]).toContain('\u001b[33mWARN');
    expect(consoleLines[1]).toContain('\u001b[31mERROR');
    expect(plain(consoleLines[0])).toMatch(/WARN: \[stuck-imports\] stuck imports count=1\n$/);
    expect(plain(consoleLines[1])).toMatch(/ERROR: stop failed\n$/);
    expect(consoleLines.join('')).not.toContain('{"');
  });

  it('keeps the console JSON when it is not a terminal', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-logs-'));
    const consoleLines: string[] = [];
    const restore = setConsoleWriter((l) => void consoleLines.push(l));
    try {
      logToFile(path.join(dir, 'worker.log'), { env: {}, isTTY: false }).warn({ count: 1 }, 'stuck imports');
    } finally {
      setConsoleWriter(restore);
    }
    expect(consoleLines).toHaveLength(1);
    expect(JSON.parse(consoleLines[0])).toMatchObject({ level: 40, msg: 'stuck imports', count: 1 });
  });
});
