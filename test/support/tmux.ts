/**
 * A pseudo-terminal for tests: a command runs in a detached tmux session of its own server (its own
 * socket), and the test reads the screen as a person would see it (`capture-pane`, escape codes
 * stripped, the scrollback included). scripts/install-test-deps.sh installs tmux.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { waitFor } from './wait';

export interface Terminal {
  /** The whole screen and its scrollback, one string per line (trailing blanks trimmed). */
  screen(): string[];
  /** Waits until a screen line matches; returns the screen then. */
  waitForLine(what: RegExp, timeoutMs?: number): Promise<string[]>;
  /** Sends keys as typed (tmux key names, e.g. `C-c`). */
  keys(...keys: string[]): void;
  close(): void;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `argv` in a new terminal of `cols`×`rows` with exactly `env`. When the command ends the screen
 * shows `EXIT=<code>` and stays open until close().
 */
export function openTerminal(argv: string[], o: { env: NodeJS.ProcessEnv; cwd: string; cols?: number; rows?: number }): Terminal {
  const socket = `imv-test-${randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-tty-'));
  // The command and its environment in a script: a tmux server passes its own environment on, not ours.
  const exports = Object.entries(o.env)
    .filter(([k, v]) => v !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${shellQuote(v!)}`);
  const script = path.join(dir, 'run.sh');
  fs.writeFileSync(
    script,
    ['#!/bin/sh', ...exports, `cd ${shellQuote(o.cwd)}`, `${argv.map(shellQuote).join(' ')}`, 'echo "EXIT=$?"', 'exec sleep 3600', ''].join('\n'),
  );
  const conf = path.join(dir, 'tmux.conf');
  fs.writeFileSync(conf, 'set -g history-limit 10000\n');
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', conf, ...args], { encoding: 'utf8' });
  tmux('new-session', '-d', '-s', 'main', '-x', String(o.cols ?? 200), '-y', String(o.rows ?? 50), `sh ${shellQuote(script)}`);
  const screen = () =>
    tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'main')
      .split('\n')
      .map((l) => l.trimEnd());
  return {
    screen,
    waitForLine: (what, timeoutMs = 180_000) =>
      waitFor(`a screen line matching ${what}`, () => (screen().some((l) => what.test(l)) ? screen() : null), timeoutMs, 250),
    keys: (...keys) => void tmux('send-keys', '-t', 'main', ...keys),
    close() {
      try {
        tmux('kill-server');
      } catch {
        /* already gone */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
