import net from 'node:net';

/**
 * A TCP proxy in front of an FTP server (control connection, and passive data connections by
 * rewriting EPSV/PASV answers), which can throttle downloads and freeze every connection it has
 * open: a server or network that stalls without closing anything. New connections are not frozen.
 */
export class FtpProxy {
  port = 0;
  /** Bytes per second from the server to the client on data connections (0 = unlimited). */
  bytesPerSecond = 0;
  private server: net.Server | null = null;
  private readonly conns = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean }>();
  private readonly listeners = new Set<net.Server>();

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => this.control(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Freezes all open connections (no byte moves either way, nothing is closed). */
  freeze(): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.frozen) continue;
      c.frozen = true;
      c.client.pause();
      c.upstream.pause();
      n++;
    }
    return n;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) {
      c.client.destroy();
      c.upstream.destroy();
    }
    for (const l of this.listeners) l.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private pair(client: net.Socket, upstream: net.Socket) {
    const c = { client, upstream, frozen: false };
    this.conns.add(c);
    const end = () => {
      this.conns.delete(c);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    return c;
  }

  private control(client: net.Socket) {
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    const c = this.pair(client, upstream);
    client.on('data', (d) => upstream.write(d));
    let buf = '';
    upstream.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i + 1);
        buf = buf.slice(i + 1);
        void this.rewrite(line).then((out) => {
          if (!c.frozen) client.write(Buffer.from(out, 'latin1'));
        });
      }
    });
  }

  /** Answers naming a data port are sent only once our own listener for that port is up. */
  private pending: Promise<unknown> = Promise.resolve();
  private rewrite(line: string): Promise<string> {
    const next = this.pending.then(async () => {
      const epsv = /^229 (.*)\(\|\|\|(\d+)\|\)/.exec(line);
      if (epsv) return `229 ${epsv[1]}(|||${await this.dataListener(Number(epsv[2]))}|)\r\n`;
      const pasv = /^227 (.*)\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(line);
      if (pasv) {
        const port = await this.dataListener(Number(pasv[6]) * 256 + Number(pasv[7]));
        return `227 ${pasv[1]}(127,0,0,1,${port >> 8},${port & 255})\r\n`;
      }
      return line;
    });
    this.pending = next;
    return next;
  }

  private async dataListener(upstreamPort: number): Promise<number> {
    const l = net.createServer((client) => {
      l.close();
      this.listeners.delete(l);
      const upstream = net.connect(upstreamPort, '127.0.0.1');
      const c = this.pair(client, upstream);
      client.on('data', (d) => upstream.write(d));
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      upstream.on('data', (d) => {
        if (c.frozen) return;
        client.write(d);
        if (this.bytesPerSecond > 0) {
          upstream.pause();
          setTimeout(
            () => {
              if (!c.frozen) upstream.resume();
            },
            (d.length / this.bytesPerSecond) * 1000,
          );
        }
      });
    });
    this.listeners.add(l);
    await new Promise<void>((r) => l.listen(0, '127.0.0.1', r));
    return (l.address() as net.AddressInfo).port;
  }
}
